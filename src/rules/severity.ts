/**
 * The one place a score becomes a severity. Bands are the lowest score of each severity;
 * operators tune them per rule in the rules file.
 */
import { z } from 'zod';
import { SEVERITIES, type Severity } from '../domain/events.ts';

export const severityBands = z
  .object({
    MEDIUM: z.number().min(0).max(1).default(0.3),
    HIGH: z.number().min(0).max(1).default(0.6),
    CRITICAL: z.number().min(0).max(1).default(0.85),
  })
  .refine((b) => b.MEDIUM <= b.HIGH && b.HIGH <= b.CRITICAL, {
    message: 'severity bands must rise: MEDIUM <= HIGH <= CRITICAL',
  });
export type SeverityBands = z.output<typeof severityBands>;

export function severityFor(score: number, bands: SeverityBands, floor?: Severity): Severity {
  let severity: Severity = 'LOW';
  if (score >= bands.MEDIUM) severity = 'MEDIUM';
  if (score >= bands.HIGH) severity = 'HIGH';
  if (score >= bands.CRITICAL) severity = 'CRITICAL';
  if (floor && SEVERITIES.indexOf(floor) > SEVERITIES.indexOf(severity)) return floor;
  return severity;
}

export const clampScore = (x: number): number => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 1);

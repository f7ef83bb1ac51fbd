/**
 * The filters of GET /api/alerts, parsed from the query string. Every filter is optional; a bad
 * value is a 400 naming the parameter, never a silently empty page.
 */
import { z } from 'zod';
import { ALERT_STATUSES } from './alert-status.ts';

const SEVERITIES = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export const MAX_PAGE_SIZE = 500;

/** Epoch ms or an ISO-8601 date-time, as report times are accepted elsewhere. */
const instant = z.string().transform((text, ctx) => {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: 'expected epoch milliseconds or an ISO-8601 date-time' });
    return z.NEVER;
  }
  return ms;
});
const text = z.string().trim().max(200);

export const alertQuerySchema = z
  .object({
    rule: text.optional(),
    severity: z.enum(SEVERITIES).optional(),
    status: z.enum(ALERT_STATUSES).optional(),
    producer: text.optional(),
    client: text.optional(),
    material: text.optional(),
    licence: text.optional(),
    from: instant.optional(),
    to: instant.optional(),
    q: text.optional(),
    offset: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50),
  })
  .strict();
export type AlertQuery = z.output<typeof alertQuerySchema>;

/** The first problem as `parameter: what is wrong`, for a 400 body. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') return `unknown parameter ${issue.keys.join(', ')}`;
  return `${issue.path.join('.') || '(body)'}: ${issue.message}`;
}

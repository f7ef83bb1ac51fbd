/**
 * volume-spike: an export far above the exporter's own robust baseline for the material (its
 * trailing exports: modified z on median/MAD over 3.5, Iglewicz & Hoaglin, AND a floor on the
 * ratio to the median, since a small MAD makes ordinary lots of 1.5x the median look extreme to z
 * alone); or the first export to a client the producer never shipped to before, large against
 * that baseline (BIS: a new customer buying what does not fit). With too few earlier exports the
 * verdict is "not enough history", never an alert. Production volume is not this rule.
 *
 * Judged once the watermark has passed the export (settled-exports.ts): "the exports before it"
 * and "a client never seen before" then mean the same set live and in a replay, whatever order
 * the reports arrived in.
 */
import { z } from 'zod';
import { iso } from '../domain/time.ts';
import { FirstSeen } from '../state/engine/first-seen.ts';
import { fixed, kg, tonnes } from './format.ts';
import { modifiedZ, robustBaseline } from './robust-stats.ts';
import { defineRule, type AlertDraft, type ParamsFor, type RuleState } from './rule.ts';
import { exportsBefore, judgingSettledExports, type SeenExport, type SettledJudgement } from './settled-exports.ts';
import { clampScore } from './severity.ts';

export const volumeSpikeParams = z.object({
  /** Earlier exports of the material needed before the baseline is trusted (as undervaluation). */
  minHistory: z.number().int().min(3).max(60).default(8),
  /** Most recent earlier exports the baseline is drawn from. */
  historySize: z.number().int().min(3).max(60).default(30),
  /** How far back the trailing window reaches, in days of event time. */
  historyDays: z.number().int().min(7).max(120).default(90),
  /** Modified z-score above this is far from the baseline (Iglewicz & Hoaglin's 3.5). */
  zThreshold: z.number().positive().max(50).default(3.5),
  /**
   * The export must also be at least this many times the median. Ordinary lots reach 1.5x the
   * median (p90 of clean simulated traffic) and rarely 3-4x; a tight MAD alone would flag them.
   */
  minRatio: z.number().min(1).max(100).default(5),
  /** A first export to a new client is large from this many times the median (no z needed: newness is the second indicator). */
  newClientRatio: z.number().min(1).max(100).default(4),
});
export type VolumeSpikeParams = z.output<typeof volumeSpikeParams>;

export interface ScoredVolume {
  kind: 'ordinary' | 'spike';
  n: number;
  median: number;
  ratio: number;
  /** null when the earlier exports have no spread at all. */
  z: number | null;
  newClient: boolean;
  spike: boolean;
  largeForNewClient: boolean;
}
export type SpikeVerdict = { kind: 'not-enough-history'; n: number } | ScoredVolume;

/** The verdict on an export of `kgValue` against the earlier exports' sizes. */
export function judgeVolume(kgValue: number, history: readonly number[], newClient: boolean, p: VolumeSpikeParams): SpikeVerdict {
  if (history.length < p.minHistory) return { kind: 'not-enough-history', n: history.length };
  const b = robustBaseline(history);
  const ratio = kgValue / b.median;
  // No spread at all (every lot the same size): any lot over the ratio floor is far off it.
  const z = b.kind === 'spread' ? modifiedZ(kgValue, b) : null;
  const spike = ratio >= p.minRatio && (z === null || z > p.zThreshold);
  const largeForNewClient = newClient && ratio >= p.newClientRatio;
  return { kind: spike || largeForNewClient ? 'spike' : 'ordinary', n: b.n, median: b.median, ratio, z, newClient, spike, largeForNewClient };
}

const newClients = (): FirstSeen => new FirstSeen();
const clientsOf = (state: RuleState) => state.cell('clients', newClients);

function draftFor(producerId: string, material: string, e: SeenExport, v: ScoredVolume, p: VolumeSpikeParams): AlertDraft {
  const f = e.value;
  const spikeScore = v.spike ? 0.5 + 0.5 * ((v.ratio - p.minRatio) / p.minRatio) : 0;
  const newClientScore = v.largeForNewClient ? 0.45 + 0.45 * ((v.ratio - p.newClientRatio) / p.newClientRatio) : 0;
  const checks = [v.spike ? 'baseline' : '', v.largeForNewClient ? 'new-client' : ''].filter(Boolean);
  const evidence: Record<string, string> = {
    checks: checks.join(','),
    quantityKg: kg(f.kg),
    material,
    history: 'scored',
    historyExports: String(v.n),
    minHistory: String(p.minHistory),
    historyDays: String(p.historyDays),
    historyMedianKg: kg(v.median),
    ratioToMedian: fixed(v.ratio, 2),
    minRatio: String(p.minRatio),
    modifiedZ: v.z === null ? 'no spread' : fixed(v.z, 2),
    zThreshold: String(p.zThreshold),
    newClient: String(v.newClient),
    newClientRatio: String(p.newClientRatio),
    transportMode: f.mode,
    destinationCountry: f.dest,
    shipmentId: f.shipmentId,
    shippedAt: iso(e.at),
  };
  const why = v.spike
    ? `${fixed(v.ratio, 1)}x its median export of ${tonnes(v.median)} over its last ${v.n} (modified z ${v.z === null ? 'n/a' : fixed(v.z, 1)})`
    : `${fixed(v.ratio, 1)}x its median export of ${tonnes(v.median)}`;
  return {
    findingKey: `${producerId}|${f.shipmentId}`,
    score: clampScore(Math.max(spikeScore, newClientScore) + (v.spike && v.largeForNewClient ? 0.1 : 0)),
    producerId,
    clientId: f.clientId,
    licenceId: f.licenceId,
    subjectEventIds: [e.id],
    summary: `${producerId} exported ${tonnes(f.kg)} of ${material} to ${v.largeForNewClient ? 'new client ' : ''}${f.clientId} (${f.dest}), ${why}.`,
    evidence,
    eventTime: e.at,
  };
}

function judgeAll({ state, exports, toJudge }: SettledJudgement, params: ParamsFor<VolumeSpikeParams>): AlertDraft[] {
  const drafts: AlertDraft[] = [];
  const clients = clientsOf(state);
  for (const [material, fresh] of toJudge.byMaterial) {
    const p = params(material);
    const list = exports.list(material);
    for (const e of fresh) {
      const history = exportsBefore(list, e, p.historyDays, p.historySize).map((x) => x.value.kg);
      const first = clients.get(e.value.clientId);
      const v = judgeVolume(e.value.kg, history, first?.id === e.id, p);
      if (v.kind === 'spike') drafts.push(draftFor(state.producerId, material, e, v, p));
    }
  }
  return drafts;
}

export const volumeSpike = defineRule({
  id: 'volume-spike',
  version: 1,
  description: 'An export far above the exporter’s robust baseline for the material, or a large first export to a new client.',
  params: volumeSpikeParams,
  // Every export counts towards "the first to this client", whenever it is judged.
  ...judgingSettledExports(judgeAll, (state, s) => void clientsOf(state).see(s.clientId, { id: s.reportId, at: s.occurredAt })),
});

/** Turns a validated report into the state change it stands for. Pure. */
import { countsAgainstQuota } from '../domain/licence-fit.ts';
import type { Licence, Report } from '../domain/events.ts';
import type { Flow, StateUpdate } from '../state/store.ts';

// Object literals written out rather than spread from a common base: this runs for every report.
export function toStateUpdate(report: Report, licence: Licence | null, graceMs: number): StateUpdate {
  const { reportId, producerId, occurredAt } = report.event;
  switch (report.kind) {
    case 'production': {
      const e = report.event;
      const flows: Flow[] = [{ material: e.material, kind: 'produced', kg: e.quantityKg }];
      for (const input of e.inputs) flows.push({ material: input.material, kind: 'consumed', kg: input.quantityKg });
      return { reportId, producerId, occurredAt, graceMs, flows };
    }
    case 'shipments': {
      const e = report.event;
      const flows: Flow[] = [{ material: e.material, kind: 'shipped', kg: e.quantityKg }];
      if (e.direction === 'EXPORT') flows.push({ material: e.material, kind: 'exported', kg: e.quantityKg });
      const licenceUse =
        e.direction === 'EXPORT' && licence && countsAgainstQuota(licence, e) ? { licenceId: licence.licenceId, kg: e.quantityKg } : undefined;
      return { reportId, producerId, occurredAt, graceMs, flows, licenceUse };
    }
    case 'receipts':
      return { reportId, producerId, occurredAt, graceMs, flows: [{ material: report.event.material, kind: 'received', kg: report.event.quantityKg }] };
    case 'inventory':
      return { reportId, producerId, occurredAt, graceMs, flows: [], declaration: { material: report.event.material, onHandKg: report.event.onHandKg } };
  }
}

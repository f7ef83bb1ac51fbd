/** Valid Alert records for console tests, each with overrides; ids from one counter never collide. */
import type { PublishedAlert } from '../../src/console/alert-index.ts';
import { at, D0, nextId } from './builders.ts';

export function alert(o: Partial<PublishedAlert> = {}): PublishedAlert {
  const shipmentReport = nextId('ship');
  return {
    alertId: nextId('alert'),
    ruleId: 'unlicensed-client',
    ruleVersion: 1,
    severity: 'HIGH',
    score: 0.8,
    producerId: 'P1',
    clientId: 'C1',
    licenceId: null,
    subjectEventIds: [shipmentReport],
    summary: 'P1 exported 500 kg of NDFEB_DY_MAGNET to C1 without a licence.',
    evidence: { reasons: 'no-licence', material: 'NDFEB_DY_MAGNET', quantityKg: '500', clientName: 'Acme GmbH' },
    eventTime: at(D0),
    detectedAt: at(D0, 13),
    windowStart: null,
    windowEnd: null,
    ...o,
  };
}

/**
 * The supply-chain simulator: a seeded, deterministic run of the world in world.ts, day by day,
 * turned into the records the detector reads, plus labels for the anomalies it injected.
 *
 * Clean traffic is kept clean by construction. The simulator keeps every producer's book exactly as
 * the detector will (daily buckets, grams), never lets an outflow exceed the stock, declares stock
 * equal to the book, ships controlled goods only under a licence that fits and has quota left, and
 * reports everything well inside the detector's 72 h grace period. Anomalies are injected through
 * the same bookkeeping (anomalies/), so each breaks exactly the rule it is labelled with.
 *
 * Pure: no Kafka, no files. `simulateRecords` yields records in stream order while it runs, so a
 * writer can stream millions of them; `simulate` collects them into arrays.
 */
import { topicNames, type TopicNames } from '../config/topics.ts';
import { loadCatalogue, type Catalogue } from '../domain/catalogue.ts';
import type { InventoryReport, ProductionQuota, ProductionReport, ReceiptReport, ShipmentReport } from '../domain/events.ts';
import { median } from 'simple-statistics';
import { DAY_MS, HOUR_MS, dayOf } from '../domain/time.ts';
import { INJECTORS } from './anomalies/index.ts';
import type { ExportMade, InjectionContext, Injector, ProductionRequest, ShipmentRequest } from './anomalies/injector.ts';
import { holidayFactor, seasonalFactor, workFactor } from './calendar.ts';
import { LicenceLedger } from './licensing.ts';
import { Outbox } from './outbox.ts';
import { Rng } from './random.ts';
import type { Label, RecordingLine, SimResult, SimStats } from './types.ts';
import { newRestrictedParty, type RestrictedParty } from './restricted-parties.ts';
import { buildWorld, declaresOn, M, type Product, type SimProducer, type World } from './world.ts';
import { quotasFor } from './quotas.ts';
import { QuotaTracker } from './quota-tracker.ts';

export const DEFAULT_START = '2025-06-02T00:00:00.000Z';
/** Injection attempts per producer per day: about 30 anomalies in 100 producers x 30 days. */
export const DEFAULT_ANOMALY_RATE = 0.015;

export interface SimulateOptions {
  seed: number;
  producers: number;
  days: number;
  /** First day of the run (its UTC day is used). Default 2025-06-02, a Monday. */
  start?: number | string | Date;
  /** Inject labelled anomalies. Default true. */
  anomalies?: boolean;
  /** Injection attempts per producer per day. */
  anomalyRate?: number;
  /** Topic prefix (default `ree`). */
  topicPrefix?: string;
  /** Defaults to the catalogue shipped in config/materials.json. */
  catalogue?: Catalogue;
  /** The anomaly injectors (default: all of anomalies/index.ts), e.g. one rule's alone in its tests. */
  injectors?: readonly Injector[];
}

export interface SimOutcome {
  labels: Label[];
  stats: SimStats;
}

/** The smallest lot worth a shipment, by material: tonnes of concentrate, kilograms of terbium. */
const MIN_LOT_KG: Record<string, number> = {
  [M.concentrate]: 1000,
  [M.ndprOxide]: 50,
  [M.dyOxide]: 5,
  [M.tbOxide]: 2,
  [M.ndprMetal]: 50,
  [M.dyMetal]: 5,
  [M.tbMetal]: 2,
  [M.alloy]: 100,
  [M.magnet]: 20,
  [M.dyMagnet]: 20,
  [M.smco]: 10,
};
/** The largest clean export lot, in days of the product's capacity. */
const EXPORT_LOT_DAYS = 3;
/** The largest clean export lot, in multiples of the producer's median export of the material. */
const USUAL_LOT_MULTIPLE = 2.5;
/** Clean export lots of one material a producer sends in a day; a larger backlog waits for the next day. */
const MAX_EXPORT_LOTS_PER_DAY = 3;
/** Buyers reorder up to this many days of their consumption. */
const TARGET_INPUT_DAYS = 8;
/**
 * Domestic transfers of one material a supplier sends in a day. Keeps a day's outflows of a
 * material well under the 50 reportIds a deficit check lists (MAX_SUBJECT_IDS).
 */
const MAX_TRANSFERS_PER_DAY = 6;
const EUROPE = new Set(['DE', 'PL', 'CZ', 'HU', 'IT', 'FR', 'NL', 'ES', 'SE', 'GB']);
const HIGH_VALUE = new Set<string>([M.dyOxide, M.tbOxide, M.dyMetal, M.tbMetal]);

interface Book {
  spec: SimProducer;
  /** Book balance per material, grams. Integer grams keep the sums exact, as the detector's are. */
  stock: Map<string, number>;
  /** Opening declaration + produced + received since it: the detector's "available". */
  periodIn: Map<string, number>;
  inTransit: Map<string, number>;
  /** Materials whose current reconciliation period already holds a volume-mismatch anomaly. */
  tainted: Set<string>;
  /** The stock the run opened with, which no report ever shows the detector. */
  opening: Map<string, number>;
}

interface Arrival {
  to: string;
  material: string;
  grams: number;
}

interface LastReport {
  reportId: string;
  occurredAt: number;
}

interface DeclarationOverride {
  declaredG: number;
  onEmitted: (reportId: string) => void;
}

const floorTo = (g: number, unit: number): number => Math.floor(g / unit) * unit;
const kgOf = (g: number): number => g / 1000;
const pad = (n: number, width: number): string => String(n).padStart(width, '0');

function startDayOf(start: SimulateOptions['start']): number {
  const ms = start === undefined ? Date.parse(DEFAULT_START) : start instanceof Date ? start.getTime() : typeof start === 'string' ? Date.parse(start) : start;
  if (!Number.isFinite(ms)) throw new RangeError(`simulation start is not a date: ${String(start)}`);
  return dayOf(ms);
}

function checkOptions(o: SimulateOptions): void {
  if (!Number.isInteger(o.seed)) throw new RangeError(`seed must be an integer (got ${o.seed})`);
  if (!Number.isInteger(o.producers) || o.producers < 5) throw new RangeError(`producers must be an integer >= 5 (got ${o.producers})`);
  if (!Number.isInteger(o.days) || o.days < 1) throw new RangeError(`days must be a positive integer (got ${o.days})`);
  if (o.anomalyRate !== undefined && !(o.anomalyRate >= 0 && o.anomalyRate <= 1)) {
    throw new RangeError(`anomalyRate must be between 0 and 1 (got ${o.anomalyRate})`);
  }
}

let shippedCatalogue: Catalogue | undefined;

/**
 * Yields the run's records in stream order (timestamp, then creation), then returns labels and
 * stats. Memory stays at a few days of records however long the run.
 */
export function* simulateRecords(options: SimulateOptions): Generator<RecordingLine, SimOutcome, void> {
  checkOptions(options);
  const catalogue = options.catalogue ?? (shippedCatalogue ??= loadCatalogue());
  const startDay = startDayOf(options.start);
  const days = options.days;
  const endMs = (startDay + days) * DAY_MS;
  const topics: TopicNames = topicNames(options.topicPrefix ?? 'ree');
  const world: World = buildWorld({ seed: options.seed, producers: options.producers, startDay, days }, catalogue);
  const rng = new Rng(options.seed, 'traffic');
  const anomalyRng = new Rng(options.seed, 'anomalies');
  // Ids carry the seed so two runs replayed into one store do not collide on reportId.
  const tag = (options.seed >>> 0).toString(36);
  const counters = { PRD: 0, SHP: 0, SH: 0, RCP: 0, INV: 0, A: 0 };
  const nextId = (kind: keyof typeof counters): string => `${kind}-${tag}-${pad(++counters[kind], 8)}`;

  const ledger = new LicenceLedger(world.licences.filter((p) => p.licence.issuedAt <= endMs));
  const outbox = new Outbox();
  const byTopic: Record<string, number> = {};
  const labels: Label[] = [];
  const labelsByRule: Record<string, number> = {};
  const labelsByVariant: Record<string, number> = {};
  const exportedG: Record<string, number> = {};
  /** Each producer's exports of each material so far, kg in emission order: injectors size against them. */
  const exportsKg = new Map<string, ExportMade[]>();
  let injectionsFailed = 0;

  const licenceLines: RecordingLine[] = [];
  for (const l of ledger.all) {
    licenceLines.push({ topic: topics.licences, key: l.licence.licenceId, timestamp: l.licence.issuedAt, value: l.licence });
    if (l.statusChange && l.statusChange.at <= endMs) {
      licenceLines.push({
        topic: topics.licences,
        key: l.licence.licenceId,
        timestamp: l.statusChange.at,
        // A new version from the change on; the licence stays ACTIVE for what went before it.
        value: { ...l.licence, status: l.statusChange.status, effectiveAt: l.statusChange.at },
      });
    }
  }
  // A standing watchlist, listed before the run: parties that none of the world's clients match,
  // so clean traffic stays clean. From its own random stream, so the traffic is what it was without it.
  const clientNames = world.clients.map((c) => c.name);
  const restrictedParties: RestrictedParty[] = [];
  const listRng = new Rng(options.seed, 'watchlist');
  for (let i = 0; i < 6 + Math.round(world.producers.length / 15); i += 1) {
    const listedAt = (startDay - listRng.int(10, 700)) * DAY_MS + listRng.int(1, 8) * HOUR_MS;
    const taken = [...clientNames, ...restrictedParties.flatMap((r) => [r.entry.name, ...r.entry.aliases])];
    const party = newRestrictedParty(listRng, `W-${tag}-${pad(i + 1, 4)}`, listedAt, taken);
    if (!party) continue;
    restrictedParties.push(party);
    licenceLines.push({ topic: topics.watchlist, key: party.entry.entryId, timestamp: listedAt, value: party.entry });
  }
  // Quotas of mines and separation plants, issued before their year (quotas.ts).
  const quotaByYear = new Map<string, ProductionQuota>();
  for (const q of quotasFor(world, tag, startDay, days)) {
    quotaByYear.set(`${q.producerId}|${q.year}`, q);
    licenceLines.push({ topic: topics.quotas, key: q.quotaId, timestamp: q.issuedAt, value: q });
  }
  const quotaTracker = new QuotaTracker();
  outbox.preload(licenceLines);

  // Each producer's report with the latest occurredAt so far: what a silence is measured from.
  const lastReports = new Map<string, LastReport>();
  const emit = (topic: string, key: string, timestamp: number, value: RecordingLine['value']) => {
    outbox.push({ topic, key, timestamp, value });
    if ('reportId' in value) {
      const held = lastReports.get(value.producerId);
      if (!held || value.occurredAt > held.occurredAt || (value.occurredAt === held.occurredAt && value.reportId > held.reportId)) {
        lastReports.set(value.producerId, { reportId: value.reportId, occurredAt: value.occurredAt });
      }
    }
  };
  // Producers that stopped reporting (reporting-gap anomalies): the day index they report again from.
  const silencedUntil = new Map<string, number>();
  const silent = (id: string): boolean => (silencedUntil.get(id) ?? -1) > day;
  // What other injectors may pick from: a silent producer must stay silent for its label to hold.
  let activeWorld: World | undefined;
  let activeWorldDay = -1;
  const worldForInjectors = (): World => {
    if (silencedUntil.size === 0) return world;
    if (activeWorld && activeWorldDay === day) return activeWorld;
    const active = (p: SimProducer) => !silent(p.id);
    activeWorld = { ...world, producers: world.producers.filter(active), chainOrder: world.chainOrder.filter(active) };
    activeWorldDay = day;
    return activeWorld;
  };

  // Books, opened with a few days of inputs and some finished stock so production starts at once.
  const books = new Map<string, Book>();
  for (const p of world.producers) {
    const stock = new Map<string, number>();
    for (const [material, perDay] of p.inputRate) stock.set(material, floorTo(perDay * rng.float(5, 10) * 1000, 100));
    for (const pr of p.products) stock.set(pr.material, floorTo(pr.capacityKg * pr.bufferDays * rng.float(1, 2) * 1000, 100));
    books.set(p.id, { spec: p, stock, periodIn: new Map(), inTransit: new Map(), tainted: new Set(), opening: new Map(stock) });
  }
  const book = (id: string): Book => books.get(id)!;
  const stockOf = (b: Book, material: string): number => b.stock.get(material) ?? 0;
  const addStock = (b: Book, material: string, g: number): void => {
    b.stock.set(material, stockOf(b, material) + g);
  };
  const addIn = (b: Book, material: string, g: number): void => {
    b.periodIn.set(material, (b.periodIn.get(material) ?? 0) + g);
  };

  const arrivals = new Map<number, Arrival[]>();
  const endOfDayArrivals: Arrival[] = [];
  const overrides = new Map<string, DeclarationOverride>();

  const reportDelay = (r: Rng): number => {
    const u = r.next();
    const hours = u < 0.7 ? r.float(0.5, 8) : u < 0.95 ? r.float(8, 30) : r.float(30, 46);
    return Math.round((hours * HOUR_MS) / 1000) * 1000;
  };

  const transportFor = (r: Rng, material: string, country: string, kg: number): ShipmentReport['transportMode'] => {
    if (kg < 25) return r.chance(0.6) ? 'COURIER' : 'POST';
    if (HIGH_VALUE.has(material) && kg < 500) return r.chance(0.75) ? 'AIR' : 'COURIER';
    const u = r.next();
    if (country === 'VN') return u < 0.5 ? 'ROAD' : 'SEA';
    if (EUROPE.has(country)) return u < 0.25 ? 'RAIL' : u < 0.8 ? 'SEA' : 'AIR';
    return u < 0.75 ? 'SEA' : 'AIR';
  };

  let day = 0;
  let dayStart = startDay * DAY_MS;

  /** Emits a shipment report, books it, and for a domestic transfer the receiver's receipt. */
  const ship = (req: ShipmentRequest, r: Rng, injected: boolean): ShipmentReport => {
    const seller = book(req.producerId);
    const left = stockOf(seller, req.material) - req.grams;
    if (!injected && left < 0) throw new Error(`simulator bug: clean shipment drives ${req.producerId} ${req.material} to ${left} g`);
    seller.stock.set(req.material, left);
    const kg = kgOf(req.grams);
    const entry = catalogue.get(req.material)!;
    const domestic = req.direction === 'DOMESTIC';
    const receiver = domestic ? world.producerById.get(req.clientId)! : undefined;
    // An injected front company is no client of the world: its report declares who it is.
    const client = domestic ? undefined : world.clientById.get(req.clientId);
    const country = domestic ? 'CN' : (client?.country ?? req.declared?.clientCountry);
    if (!domestic && (!country || (!client && !req.declared?.clientName))) throw new Error(`simulator bug: export to unknown client ${req.clientId}`);
    const shipment: ShipmentReport = {
      reportId: nextId('SHP'),
      shipmentId: nextId('SH'),
      producerId: req.producerId,
      clientId: req.clientId,
      clientName: domestic ? receiver!.name : (client?.name ?? ''),
      clientCountry: country!,
      destinationCountry: country!,
      direction: req.direction,
      material: req.material,
      quantityKg: kg,
      hsCode: entry.hsCodes[0]!,
      declaredValueUsd: Math.round(kg * entry.referenceUsdPerKg * r.float(0.85, 1.15) * 100) / 100,
      licenceId: req.licenceId,
      transportMode: domestic ? (r.chance(0.8) ? 'ROAD' : 'RAIL') : transportFor(r, req.material, country!, kg),
      occurredAt: req.occurredAt,
      reportedAt: req.reportedAt,
      ...req.declared,
    };
    emit(topics.shipments, shipment.producerId, shipment.reportedAt, shipment);
    if (!domestic) {
      exportedG[req.material] = (exportedG[req.material] ?? 0) + req.grams;
      const key = `${req.producerId}|${req.material}`;
      const held = exportsKg.get(key);
      const made = { kg, at: req.occurredAt };
      if (held) held.push(made);
      else exportsKg.set(key, [made]);
    }
    // What the buyer receives and books: the goods shipped, unless an injected anomaly says otherwise.
    const received = domestic ? (req.received === undefined ? { material: req.material, grams: req.grams } : req.received) : null;
    if (received) {
      // Same-day delivery only for a morning dispatch; nothing is delivered after the run ends.
      let lag = r.chance(0.3) ? 0 : r.chance(0.7) ? 1 : 2;
      // Injected shipments come after the day's deliveries were booked: deliver them tomorrow.
      if (injected || req.occurredAt - dayStart > 15 * HOUR_MS) lag = Math.max(lag, 1);
      lag = Math.min(lag, days - 1 - day);
      const receivedAt =
        lag === 0
          ? Math.min(req.occurredAt + Math.round(r.float(2, 7) * HOUR_MS), dayStart + 23 * HOUR_MS)
          : dayStart + lag * DAY_MS + Math.round(r.float(5, 8) * HOUR_MS);
      const receipt: ReceiptReport = {
        reportId: nextId('RCP'),
        producerId: req.clientId,
        supplierId: req.producerId,
        shipmentId: shipment.shipmentId,
        material: received.material,
        quantityKg: kgOf(received.grams),
        occurredAt: receivedAt,
        reportedAt: receivedAt + reportDelay(r),
      };
      emit(topics.receipts, receipt.producerId, receipt.reportedAt, receipt);
      req.onReceipt?.(receipt.reportId);
      const to = book(req.clientId);
      to.inTransit.set(received.material, (to.inTransit.get(received.material) ?? 0) + received.grams);
      const arrival = { to: req.clientId, material: received.material, grams: received.grams };
      if (lag === 0) endOfDayArrivals.push(arrival);
      else {
        const due = arrivals.get(day + lag);
        if (due) due.push(arrival);
        else arrivals.set(day + lag, [arrival]);
      }
    }
    return shipment;
  };

  const arrive = (a: Arrival): void => {
    const to = book(a.to);
    addStock(to, a.material, a.grams);
    addIn(to, a.material, a.grams);
    to.inTransit.set(a.material, (to.inTransit.get(a.material) ?? 0) - a.grams);
  };

  const emitProduction = (p: SimProducer, material: string, grams: number, inputs: [string, number][], occurredAt: number, r: Rng = rng): ProductionReport => {
    const report: ProductionReport = {
      reportId: nextId('PRD'),
      producerId: p.id,
      facilityId: p.facilityId,
      stage: p.stage,
      material,
      quantityKg: kgOf(grams),
      inputs: inputs.filter(([, g]) => g > 0).map(([m, g]) => ({ material: m, quantityKg: kgOf(g) })),
      occurredAt,
      reportedAt: occurredAt + reportDelay(r),
    };
    emit(topics.production, p.id, report.reportedAt, report);
    quotaTracker.madeReport(report);
    return report;
  };

  const produce = (p: SimProducer, b: Book, factor: number): void => {
    const planned = p.products.map((pr) => pr.capacityKg * factor * rng.float(0.9, 1.1) * 1000);
    // When an input runs short, every product drawing on it is cut back by the same share.
    const need = new Map<string, number>();
    p.products.forEach((pr, i) => {
      for (const input of pr.inputs) need.set(input.material, (need.get(input.material) ?? 0) + planned[i]! * input.kgPerKg);
    });
    const share = new Map<string, number>();
    for (const [material, g] of need) share.set(material, g <= 0 ? 1 : Math.min(1, Math.max(0, stockOf(b, material)) / g));
    p.products.forEach((pr, i) => {
      const scale = Math.min(1, ...pr.inputs.map((input) => share.get(input.material) ?? 1));
      const out = floorTo(planned[i]! * scale, 100);
      if (out < Math.max(100, pr.capacityKg * 20)) return; // under 2 % of a day's run: not worth a batch
      const used: [string, number][] = pr.inputs.map((input) => [input.material, Math.min(Math.round(out * input.kgPerKg), stockOf(b, input.material))]);
      for (const [material, g] of used) addStock(b, material, -g);
      addStock(b, pr.material, out);
      addIn(b, pr.material, out);
      // Plants report per batch: one run, or two shifts.
      if (out >= 2000 && rng.chance(0.35)) {
        const first = floorTo(out * rng.float(0.4, 0.6), 100);
        const firstInputs: [string, number][] = used.map(([m, g]) => [m, Math.round((g * first) / out)]);
        emitProduction(p, pr.material, first, firstInputs, dayStart + Math.round(rng.float(8, 13) * HOUR_MS));
        emitProduction(p, pr.material, out - first, used.map(([m, g], k) => [m, g - firstInputs[k]![1]]), dayStart + Math.round(rng.float(14, 20) * HOUR_MS));
      } else {
        emitProduction(p, pr.material, out, used, dayStart + Math.round(rng.float(10, 19) * HOUR_MS));
      }
    });
  };

  const minLotG = (material: string): number => (MIN_LOT_KG[material] ?? 10) * 1000;
  const bufferG = (pr: Product): number => pr.capacityKg * pr.bufferDays * 1000;
  const workTime = (r: Rng): number => dayStart + Math.round(r.float(9, 19) * HOUR_MS);

  const usualExportG = (producerId: string, material: string): number | null => {
    const made = (exportsKg.get(`${producerId}|${material}`) ?? []).slice(-30);
    return made.length >= 8 ? median(made.map((x) => x.kg)) * 1000 : null;
  };

  /** A clean export: under a fitting licence with quota left when the goods are controlled. Returns grams shipped. */
  const exportClean = (p: SimProducer, material: string, grams: number): number => {
    const links = p.clients.filter((l) => l.materials.includes(material));
    const controlled = catalogue.isControlled(material);
    const occurredAt = workTime(rng);
    const reportedAt = occurredAt + reportDelay(rng);
    const tried = new Set<string>();
    for (let attempt = 0; attempt < 3 && tried.size < links.length; attempt += 1) {
      const link = rng.weighted(links.filter((l) => !tried.has(l.clientId)), (l) => l.weight)!;
      tried.add(link.clientId);
      let g = floorTo(grams, 1000);
      let licenceId: string | null = null;
      if (controlled) {
        const licence = ledger.fitting(p.id, link.clientId, material, occurredAt, reportedAt);
        if (!licence) continue;
        g = Math.min(g, floorTo(ledger.remainingG(licence), 1000));
        if (g < minLotG(material)) continue;
        licenceId = licence.licence.licenceId;
        ledger.count(licence, g, reportedAt);
      }
      if (g < minLotG(material)) return 0;
      ship({ producerId: p.id, material, grams: g, direction: 'EXPORT', clientId: link.clientId, licenceId, occurredAt, reportedAt }, rng, false);
      return g;
    }
    return 0;
  };

  const buyersOf = new Map<string, string[]>();
  for (const p of world.producers) for (const material of p.inputRate.keys()) buyersOf.set(material, [...(buyersOf.get(material) ?? []), p.id]);
  /** How much a buyer still wants of an input to be back at its target stock. */
  const targetOf = (id: string, material: string): number => (book(id).spec.inputRate.get(material) ?? 0) * TARGET_INPUT_DAYS * 1000;
  const needOf = (id: string, material: string): number => {
    const nb = book(id);
    return targetOf(id, material) - stockOf(nb, material) - (nb.inTransit.get(material) ?? 0);
  };

  const shipOut = (p: SimProducer, b: Book): void => {
    for (const pr of p.products) {
      const material = pr.material;
      let excess = stockOf(b, material) - bufferG(pr);
      if (excess < minLotG(material)) continue;
      const buyers = p.buyers.get(material) ?? [];
      const exports = p.clients.some((l) => l.materials.includes(material));
      let domesticBudget = exports ? excess * (1 - pr.exportShare) : excess;
      if (buyers.length > 0 && domesticBudget >= minLotG(material) && rng.chance(0.75)) {
        // Emptiest first, relative to what each consumes, so small plants are not starved by big ones.
        const byUrgency = (a: { id: string; need: number }, c: { id: string; need: number }) =>
          c.need / targetOf(c.id, material) - a.need / targetOf(a.id, material) || (a.id < c.id ? -1 : 1);
        const needs = buyers
          .map((id) => ({ id, need: needOf(id, material) }))
          .filter((n) => n.need >= minLotG(material) && !silent(n.id))
          .sort(byUrgency);
        // Regular customers first; stock still piling up goes to whoever is short (a spot sale),
        // so a supplier with few customers does not sit on stock while other plants stand idle.
        if (excess > pr.capacityKg * 3 * 1000) {
          const spot = rng.sample(buyersOf.get(material) ?? [], 12).filter((id) => !buyers.includes(id) && !silent(id));
          const best = spot.map((id) => ({ id, need: needOf(id, material) })).sort(byUrgency)[0];
          if (best && best.need >= minLotG(material)) needs.push(best);
        }
        for (const { id, need } of needs.slice(0, MAX_TRANSFERS_PER_DAY)) {
          const g = floorTo(Math.min(need, domesticBudget), 1000);
          if (g < minLotG(material)) break;
          const occurredAt = workTime(rng);
          ship({ producerId: p.id, material, grams: g, direction: 'DOMESTIC', clientId: id, licenceId: null, occurredAt, reportedAt: occurredAt + reportDelay(rng) }, rng, false);
          domesticBudget -= g;
          excess -= g;
        }
      }
      if (!exports || excess < minLotG(material) || !rng.chance(pr.exportShare >= 1 ? 0.45 : 0.3)) continue;
      // Plants that export part of their output sell abroad what their home customers did not take today.
      let budget = pr.exportShare >= 1 ? excess : excess * rng.float(0.5, 1);
      // A backlog (a licence awaited, a few days without a sale) leaves as several ordinary
      // consignments, a few a day, not as one lot many times the usual: exporters ship in the lot
      // sizes their clients order, and a single outsized export is what volume-spike is about.
      // A plant exporting part of its output ships lots sized to that part.
      // and, once it has a record, lots within a few times its usual one (clients order in lots).
      const usual = usualExportG(p.id, material);
      const lotG = Math.min(pr.capacityKg * pr.exportShare * EXPORT_LOT_DAYS * 1000, usual === null ? Infinity : usual * USUAL_LOT_MULTIPLE);
      const lots = Math.min(MAX_EXPORT_LOTS_PER_DAY, Math.max(1, Math.ceil(budget / lotG)));
      budget = Math.min(budget, lots * lotG);
      for (let k = 0; k < lots && budget >= minLotG(material); k += 1) {
        budget -= exportClean(p, material, (budget / (lots - k)) * rng.float(0.8, 1));
      }
    }
  };

  const emitInventory = (p: SimProducer, material: string, grams: number): string => {
    const occurredAt = dayStart + 23 * HOUR_MS + rng.int(0, 3_500) * 1000;
    const report: InventoryReport = {
      reportId: nextId('INV'),
      producerId: p.id,
      material,
      onHandKg: kgOf(grams),
      occurredAt,
      reportedAt: occurredAt + reportDelay(rng),
    };
    emit(topics.inventory, p.id, report.reportedAt, report);
    return report.reportId;
  };

  const declare = (p: SimProducer, b: Book): void => {
    for (const material of p.materials) {
      const key = `${p.id}|${material}`;
      const override = overrides.get(key);
      if (override) {
        overrides.delete(key);
        b.stock.set(material, override.declaredG);
      }
      const g = stockOf(b, material);
      // A book driven negative by an injected shipment cannot be declared; the period runs on.
      if (g < 0) continue;
      const reportId = emitInventory(p, material, g);
      b.periodIn.set(material, g);
      b.tainted.delete(material);
      override?.onEmitted(reportId);
    }
  };

  const label = (ruleId: Label['ruleId'], variant: string, l: Omit<Label, 'anomalyId'>): void => {
    const anomalyId = `A-${tag}-${pad(++counters.A, 5)}-${variant}`;
    labels.push({ anomalyId, ...l, ruleId });
    labelsByRule[ruleId] = (labelsByRule[ruleId] ?? 0) + 1;
    labelsByVariant[`${ruleId}/${variant}`] = (labelsByVariant[`${ruleId}/${variant}`] ?? 0) + 1;
  };

  const anomalies = options.anomalies ?? true;
  const rate = options.anomalyRate ?? DEFAULT_ANOMALY_RATE;
  const injectors = options.injectors ?? INJECTORS;
  const totalWeight = injectors.reduce((s, i) => s + i.weight, 0);

  const context = (injectorRule: Label['ruleId']): InjectionContext => ({
    day,
    dayStart,
    days,
    rng: anomalyRng,
    world: worldForInjectors(),
    catalogue,
    licences: ledger,
    stockG: (id, material) => stockOf(book(id), material),
    periodInG: (id, material) => book(id).periodIn.get(material) ?? 0,
    tainted: (id, material) => book(id).tainted.has(material),
    exports: (id, material) => exportsKg.get(`${id}|${material}`) ?? [],
    taint: (id, material) => void book(id).tainted.add(material),
    declaresToday: (id) => declaresOn(world.producerById.get(id)!, day, startDay),
    workTime: () => workTime(anomalyRng),
    reportDelay: () => reportDelay(anomalyRng),
    ship: (req) => ship(req, anomalyRng, true),
    produce: (req: ProductionRequest) => {
      const b = book(req.producerId);
      for (const [material, g] of req.inputs) addStock(b, material, -g);
      addStock(b, req.material, req.grams);
      addIn(b, req.material, req.grams);
      return emitProduction(world.producerById.get(req.producerId)!, req.material, req.grams, req.inputs, req.occurredAt, anomalyRng);
    },
    restrictedParties,
    clientNames,
    list: (party) => {
      restrictedParties.push(party);
      emit(topics.watchlist, party.entry.entryId, party.entry.listedAt, party.entry);
      return party.entry;
    },
    overrideDeclaration: (id, material, declaredG, onEmitted) => void overrides.set(`${id}|${material}`, { declaredG, onEmitted }),
    sinceStartG: (id, material) => stockOf(book(id), material) - (book(id).opening.get(material) ?? 0),
    quotaOf: (id, year) => quotaByYear.get(`${id}|${year}`),
    producedInYearG: (id, year, materials) => quotaTracker.madeG(id, year, materials),
    reissueQuota: (quota, onCrossing) => {
      quotaByYear.set(`${quota.producerId}|${quota.year}`, quota);
      emit(topics.quotas, quota.quotaId, quota.issuedAt, quota);
      quotaTracker.watch(quota, onCrossing);
    },
    label: (variant, l) => label(injectorRule, variant, l),
    silent,
    silence: (id, forDays) => {
      silencedUntil.set(id, day + 1 + forDays);
      activeWorld = undefined;
    },
    lastReport: (id) => lastReports.get(id),
  });

  /** Counts a record as it reaches the stream, and follows production against quotas in stream order. */
  const streamed = (line: RecordingLine): RecordingLine => {
    byTopic[line.topic] = (byTopic[line.topic] ?? 0) + 1;
    if (line.topic === topics.production) quotaTracker.streamedReport(line.value as ProductionReport);
    return line;
  };

  for (day = 0; day < days; day += 1) {
    const utcDay = startDay + day;
    dayStart = utcDay * DAY_MS;
    for (const a of arrivals.get(day) ?? []) arrive(a);
    arrivals.delete(day);

    const calendar = seasonalFactor(utcDay) * holidayFactor(utcDay);
    for (const p of world.chainOrder) {
      const factor = workFactor(utcDay, p.saturdayShift) * calendar;
      if (factor > 0 && !silent(p.id)) produce(p, book(p.id), factor * Math.min(1.15, Math.max(0.8, rng.normal(1, 0.06))));
    }
    const shippingDay = workFactor(utcDay, false) > 0 || (workFactor(utcDay, true) > 0 && rng.chance(0.3));
    if (shippingDay) for (const p of world.chainOrder) if (!silent(p.id)) shipOut(p, book(p.id));
    for (const a of endOfDayArrivals.splice(0)) arrive(a);

    if (anomalies) {
      for (const injector of injectors) {
        const lastDay = days - 1 - injector.tailDays;
        if (day > lastDay || (injector.firstDayOnly ? day !== 0 : day === 0)) continue;
        // Spread the injector's share of the budget over the days it may inject on.
        const lambda = (rate * world.producers.length * (injector.weight / totalWeight) * days) / (injector.firstDayOnly ? 1 : lastDay);
        const attempts = anomalyRng.poisson(lambda);
        for (let k = 0; k < attempts; k += 1) if (!injector.inject(context(injector.ruleId))) injectionsFailed += 1;
      }
      // Only on the last day can an injected transfer still be delivered today.
      for (const a of endOfDayArrivals.splice(0)) arrive(a);
    }

    for (const p of world.chainOrder) if (declaresOn(p, day, startDay) && !silent(p.id)) declare(p, book(p.id));

    for (const line of outbox.takeBefore(dayStart + DAY_MS)) yield streamed(line);
  }
  for (const line of outbox.takeAll()) yield streamed(line);

  const producersByStage: Record<string, number> = {};
  for (const p of world.producers) producersByStage[p.stage] = (producersByStage[p.stage] ?? 0) + 1;
  const exportedTonnes: Record<string, number> = {};
  for (const [material, g] of Object.entries(exportedG)) exportedTonnes[material] = Math.round(g / 1e4) / 100;
  const magnetG = (exportedG[M.magnet] ?? 0) + (exportedG[M.dyMagnet] ?? 0) + (exportedG[M.smco] ?? 0);
  const stats: SimStats = {
    seed: options.seed,
    producers: world.producers.length,
    days,
    start: new Date(startDay * DAY_MS).toISOString(),
    end: new Date(endMs).toISOString(),
    producersByStage,
    clients: world.clients.length,
    licences: ledger.all.length,
    records: Object.values(byTopic).reduce((a, b) => a + b, 0),
    byTopic,
    labels: labels.length,
    labelsByRule,
    labelsByVariant,
    injectionsFailed,
    exportedTonnes,
    magnetExportTonnesPer30Days: Math.round((magnetG / 1e6) * (30 / days) * 10) / 10,
  };
  return { labels, stats };
}

/** Runs a whole simulation into memory: records in stream order, labels, stats. */
export function simulate(options: SimulateOptions): SimResult {
  const records: RecordingLine[] = [];
  const run = simulateRecords(options);
  for (;;) {
    const step = run.next();
    if (step.done) return { records, labels: step.value.labels, stats: step.value.stats };
    records.push(step.value);
  }
}

/**
 * The simulated world: producers along the chain mine → separation → metal → alloy → magnet, the
 * foreign clients they export to, and the export licences between them. Built once from the seed;
 * the day-by-day traffic in simulate.ts only reads it.
 *
 * Capacities are sized from the bottom of the chain up (magnet output → alloy → metal → oxide →
 * concentrate) with a little slack at each stage, so material keeps flowing without piling up or
 * starving whole stages. Magnet makers export all they make: the reporting contract has no domestic
 * end users (a DOMESTIC shipment goes to another producer), so domestic magnet sales are left out.
 */
import type { Catalogue } from '../domain/catalogue.ts';
import type { Licence } from '../domain/events.ts';
import { DAY_MS, HOUR_MS } from '../domain/time.ts';
import { CLIENT_COUNTRY_WEIGHTS, clientName, producerName } from './names.ts';
import { Rng } from './random.ts';

export const M = {
  concentrate: 'REE_CONCENTRATE',
  ndprOxide: 'NDPR_OXIDE',
  dyOxide: 'DY_OXIDE',
  tbOxide: 'TB_OXIDE',
  ndprMetal: 'NDPR_METAL',
  dyMetal: 'DY_METAL',
  tbMetal: 'TB_METAL',
  alloy: 'NDFEB_ALLOY',
  magnet: 'NDFEB_MAGNET',
  dyMagnet: 'NDFEB_DY_MAGNET',
  smco: 'SMCO_MAGNET',
} as const;

export const SIM_MATERIALS: readonly string[] = Object.values(M);

export type SimStage = 'MINING' | 'SEPARATION' | 'METAL' | 'ALLOY' | 'MAGNET';
/** Upstream first: the day loop walks producers in this order. */
export const CHAIN: readonly SimStage[] = ['MINING', 'SEPARATION', 'METAL', 'ALLOY', 'MAGNET'];

/** Share of producers at each stage: few mines and plants, many magnet makers. */
const STAGE_SHARE: Record<SimStage, number> = { MINING: 0.05, SEPARATION: 0.08, METAL: 0.15, ALLOY: 0.12, MAGNET: 0.6 };

/** Each stage gets this much more capacity than the stage below needs, so it is not the bottleneck. */
const SLACK = 1.06;

export interface InputUse {
  material: string;
  /** kg of input per kg of output. */
  kgPerKg: number;
}

export interface Product {
  material: string;
  /** Planned output on a full production day, kg. */
  capacityKg: number;
  inputs: InputUse[];
  /** Share of the output meant for foreign clients: 1 for magnets, 0 for alloy. */
  exportShare: number;
  /** Stock kept back from shipping, in days of capacity: the declared stock is rarely zero. */
  bufferDays: number;
}

export interface ClientLink {
  clientId: string;
  /** Relative size of this client in the exporter's book. */
  weight: number;
  /** What this client buys from this exporter. */
  materials: string[];
}

export interface SimProducer {
  id: string;
  name: string;
  stage: SimStage;
  facilityId: string;
  products: Product[];
  /** Every material it holds: inputs, then outputs. Each is declared on declaration days. */
  materials: string[];
  /** Input material → kg consumed on a full production day. */
  inputRate: Map<string, number>;
  /** Input material → producers it buys it from. */
  suppliers: Map<string, string[]>;
  /** Output material → producers that buy it. */
  buyers: Map<string, string[]>;
  clients: ClientLink[];
  /** Stock declarations: at each month end, or every 14 days from `declareOffset`. */
  declareEvery: 'month' | 'fortnight';
  declareOffset: number;
  /** Works a Saturday shift (continuous-process mines and plants always do). */
  saturdayShift: boolean;
}

export interface SimClient {
  id: string;
  name: string;
  country: string;
  kind: 'magnets' | 'materials';
  popularity: number;
}

export interface LicencePlan {
  licence: Licence;
  /** A later record that changes the status; clean traffic stops using the licence before it. */
  statusChange?: { at: number; status: 'SUSPENDED' | 'REVOKED' } | undefined;
}

export interface World {
  producers: SimProducer[];
  /** Producers upstream first (the order the day loop needs). */
  chainOrder: SimProducer[];
  producerById: Map<string, SimProducer>;
  clients: SimClient[];
  clientById: Map<string, SimClient>;
  licences: LicencePlan[];
}

export interface WorldOptions {
  seed: number;
  producers: number;
  /** First simulated day (UTC day number). */
  startDay: number;
  days: number;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

function stageCounts(n: number): Record<SimStage, number> {
  if (n < CHAIN.length) throw new RangeError(`a world needs at least ${CHAIN.length} producers, one per stage (got ${n})`);
  const counts = {} as Record<SimStage, number>;
  let assigned = 0;
  for (const stage of CHAIN) {
    if (stage === 'MAGNET') continue;
    counts[stage] = Math.max(1, Math.round(n * STAGE_SHARE[stage]));
    assigned += counts[stage];
  }
  counts.MAGNET = n - assigned;
  // Tiny worlds: rounding up the upstream stages must not leave no magnet maker.
  while (counts.MAGNET < 1) {
    const biggest = (['METAL', 'ALLOY', 'SEPARATION', 'MINING'] as const).find((s) => counts[s] > 1)!;
    counts[biggest] -= 1;
    counts.MAGNET += 1;
  }
  return counts;
}

/** Splits `total` over `n` shares drawn log-normally: a few big firms, many small ones. */
function splitSkewed(rng: Rng, n: number, total: number, sigma = 0.8): number[] {
  const weights = Array.from({ length: n }, () => rng.logNormal(1, sigma));
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => (total * w) / sum);
}

function weightedSample<T>(rng: Rng, items: readonly T[], weightOf: (t: T) => number, k: number): T[] {
  const pool = items.slice();
  const out: T[] = [];
  while (out.length < k && pool.length > 0) {
    const i = rng.weightedIndex(pool.map(weightOf));
    if (i < 0) break;
    out.push(pool[i]!);
    pool.splice(i, 1);
  }
  return out;
}

export function buildWorld(options: WorldOptions, catalogue: Catalogue): World {
  for (const code of SIM_MATERIALS) {
    if (!catalogue.get(code)) throw new RangeError(`the material catalogue has no ${code}, which the simulator produces`);
  }
  const rng = new Rng(options.seed, 'world');
  const counts = stageCounts(options.producers);

  // Ids are dealt out in shuffled stage order so an id does not give away its stage.
  const stages: SimStage[] = [];
  for (const stage of CHAIN) for (let i = 0; i < counts[stage]; i += 1) stages.push(stage);
  const usedNames = new Set<string>();
  const producers: SimProducer[] = rng.shuffled(stages).map((stage, i) => {
    const id = `P-${pad(i + 1, 4)}`;
    const fortnightly = rng.chance(0.4);
    return {
      id,
      name: producerName(rng, stage, usedNames),
      stage,
      facilityId: `${id}-F${rng.int(1, 3)}`,
      products: [],
      materials: [],
      inputRate: new Map(),
      suppliers: new Map(),
      buyers: new Map(),
      clients: [],
      declareEvery: fortnightly ? 'fortnight' : 'month',
      declareOffset: fortnightly ? rng.int(7, 14) : 0,
      saturdayShift: stage === 'MINING' || stage === 'SEPARATION' || rng.chance(0.3),
    };
  });
  const byStage = (stage: SimStage) => producers.filter((p) => p.stage === stage);

  // Magnet makers: capacity is what the whole chain is sized from.
  const magnetMakers = byStage('MAGNET');
  magnetMakers.forEach((p, i) => {
    const capacity = clamp(rng.logNormal(600, 0.9), 40, 15_000);
    let kinds = [M.magnet, M.dyMagnet, M.smco].filter((_, k) => rng.chance([0.85, 0.5, 0.12][k]!));
    // The biggest maker in a small world still needs Dy/Tb grades, or the heavy-RE chain idles.
    if (i === 0 && !kinds.includes(M.dyMagnet)) kinds.push(M.dyMagnet);
    if (kinds.length === 0) kinds = [M.magnet];
    const shares = kinds.map((k) => (k === M.smco ? 0.4 : 1) * rng.float(0.5, 1.5));
    const shareSum = shares.reduce((a, b) => a + b, 0);
    const alloyRatio = rng.float(1.12, 1.22);
    p.products = kinds.map((material, k) => {
      const inputs: InputUse[] = [];
      if (material !== M.smco) inputs.push({ material: M.alloy, kgPerKg: alloyRatio });
      if (material === M.dyMagnet) {
        inputs.push({ material: M.dyMetal, kgPerKg: rng.float(0.02, 0.05) });
        if (i === 0 || rng.chance(0.5)) inputs.push({ material: M.tbMetal, kgPerKg: rng.float(0.003, 0.008) });
      }
      return { material, capacityKg: (capacity * shares[k]!) / shareSum, inputs, exportShare: 1, bufferDays: rng.float(1, 2.5) };
    });
  });

  const demand = (stage: SimStage, material: string): number =>
    byStage(stage).reduce(
      (sum, p) => sum + p.products.reduce((s, pr) => s + pr.capacityKg * (pr.inputs.find((x) => x.material === material)?.kgPerKg ?? 0), 0),
      0,
    );

  // Alloy makers: NdPr metal plus iron and boron, which are not tracked.
  const alloyCaps = splitSkewed(rng, counts.ALLOY, demand('MAGNET', M.alloy) * SLACK);
  byStage('ALLOY').forEach((p, i) => {
    p.products = [{ material: M.alloy, capacityKg: alloyCaps[i]!, inputs: [{ material: M.ndprMetal, kgPerKg: rng.float(0.3, 0.315) }], exportShare: 0, bufferDays: rng.float(1, 3) }];
  });

  // Metal makers: all reduce NdPr oxide; some also Dy and Tb. Oxide per kg metal is 1.15-1.2 kg.
  const metalMakers = byStage('METAL');
  const makesDy = metalMakers.map((_, i) => i === 0 || rng.chance(0.5));
  const makesTb = metalMakers.map((_, i) => i === 0 || (makesDy[i]! && rng.chance(0.6)));
  const metalExport = metalMakers.map(() => (rng.chance(0.6) ? rng.float(0.08, 0.25) : 0));
  const sizeFor = (selected: boolean[], exportShares: number[], domesticNeed: number, minTotal: number): number[] => {
    const w = selected.map((s) => (s ? rng.logNormal(1, 0.7) : 0));
    // Total chosen so the domestic (non-exported) part meets the need with slack.
    const domesticWeight = w.reduce((sum, wi, i) => sum + wi * (1 - exportShares[i]!), 0);
    const total = Math.max(minTotal, (domesticNeed * SLACK) / Math.max(domesticWeight, 1e-9));
    return w.map((wi) => wi * total);
  };
  const ndprMetalCaps = sizeFor(metalMakers.map(() => true), metalExport, demand('ALLOY', M.ndprMetal), 10);
  const dyMetalCaps = sizeFor(makesDy, metalExport, demand('MAGNET', M.dyMetal), 2);
  const tbMetalCaps = sizeFor(makesTb, metalExport, demand('MAGNET', M.tbMetal), 0.5);
  metalMakers.forEach((p, i) => {
    const oxideRatio = rng.float(1.16, 1.19);
    const metal = (material: string, oxide: string, cap: number): Product => ({
      material,
      capacityKg: cap,
      inputs: [{ material: oxide, kgPerKg: oxideRatio }],
      exportShare: metalExport[i]!,
      bufferDays: rng.float(1, 3),
    });
    p.products = [metal(M.ndprMetal, M.ndprOxide, ndprMetalCaps[i]!)];
    if (makesDy[i]) p.products.push(metal(M.dyMetal, M.dyOxide, dyMetalCaps[i]!));
    if (makesTb[i]) p.products.push(metal(M.tbMetal, M.tbOxide, tbMetalCaps[i]!));
  });

  // Separation plants turn concentrate into the three oxides at once; the concentrate each oxide
  // report declares is its mass share of the run, so every report shows the same input ratio.
  const plants = byStage('SEPARATION');
  const plantExport = plants.map(() => (rng.chance(0.5) ? rng.float(0.05, 0.2) : 0));
  const plantWeight = plants.map(() => rng.logNormal(1, 0.7));
  const ndprYield = plants.map(() => rng.float(0.17, 0.22));
  const dyJitter = plants.map(() => rng.float(0.85, 1.15));
  const tbJitter = plants.map(() => rng.float(0.85, 1.15));
  const domesticShare = (i: number) => plantWeight[i]! * (1 - plantExport[i]!);
  const throughput =
    (demand('METAL', M.ndprOxide) * SLACK) / plants.reduce((s, _, i) => s + domesticShare(i) * ndprYield[i]!, 0);
  const yieldScale = (need: number, jitter: number[], floor: number) =>
    Math.max(floor, (need * SLACK) / plants.reduce((s, _, i) => s + throughput * domesticShare(i) * jitter[i]!, 0));
  const dyYield = yieldScale(demand('METAL', M.dyOxide), dyJitter, 0.001);
  const tbYield = yieldScale(demand('METAL', M.tbOxide), tbJitter, 0.0002);
  plants.forEach((p, i) => {
    const run = throughput * plantWeight[i]!;
    const yields = [ndprYield[i]!, dyYield * dyJitter[i]!, tbYield * tbJitter[i]!];
    const concentratePerKg = 1 / (yields[0]! + yields[1]! + yields[2]!);
    p.products = [M.ndprOxide, M.dyOxide, M.tbOxide].map((material, k) => ({
      material,
      capacityKg: run * yields[k]!,
      inputs: [{ material: M.concentrate, kgPerKg: concentratePerKg }],
      exportShare: plantExport[i]!,
      bufferDays: rng.float(1, 3),
    }));
  });

  const mineCaps = splitSkewed(rng, counts.MINING, demand('SEPARATION', M.concentrate) * 1.04);
  byStage('MINING').forEach((p, i) => {
    p.products = [{ material: M.concentrate, capacityKg: mineCaps[i]!, inputs: [], exportShare: 0, bufferDays: rng.float(2, 4) }];
  });

  for (const p of producers) {
    for (const pr of p.products) {
      for (const input of pr.inputs) p.inputRate.set(input.material, (p.inputRate.get(input.material) ?? 0) + pr.capacityKg * input.kgPerKg);
    }
    p.materials = [...p.inputRate.keys(), ...p.products.map((pr) => pr.material)];
  }

  // Domestic supply links: each buyer picks 1-3 suppliers of each input, weighted by the capacity
  // they have not yet promised to others, so no supplier ends up with far more demand than it can
  // meet while another sits on stock. A supplier nobody picked still gets a buyer.
  const makersOf = new Map<string, SimProducer[]>();
  for (const p of producers) for (const pr of p.products) makersOf.set(pr.material, [...(makersOf.get(pr.material) ?? []), p]);
  const link = (buyer: SimProducer, supplier: SimProducer, material: string) => {
    buyer.suppliers.set(material, [...(buyer.suppliers.get(material) ?? []), supplier.id]);
    supplier.buyers.set(material, [...(supplier.buyers.get(material) ?? []), buyer.id]);
  };
  for (const [material, makers] of makersOf) {
    const buyersOfMaterial = producers.filter((p) => p.inputRate.has(material));
    if (buyersOfMaterial.length === 0) continue;
    const spare = new Map(makers.map((m) => {
      const pr = m.products.find((x) => x.material === material)!;
      return [m.id, pr.capacityKg * (1 - pr.exportShare)] as const;
    }));
    for (const buyer of rng.shuffled(buyersOfMaterial)) {
      const chosen = weightedSample(rng, makers, (m) => Math.max(spare.get(m.id)!, 1e-6), rng.int(1, 3));
      for (const s of chosen) {
        link(buyer, s, material);
        spare.set(s.id, spare.get(s.id)! - buyer.inputRate.get(material)! / chosen.length);
      }
    }
    for (const s of makers) {
      if (!s.buyers.has(material)) link(rng.pick(buyersOfMaterial), s, material);
    }
  }

  // Foreign clients: magnet buyers (motor makers, OEMs) and material buyers (magnet makers abroad).
  const countries = Object.keys(CLIENT_COUNTRY_WEIGHTS);
  const countryWeights = countries.map((c) => CLIENT_COUNTRY_WEIGHTS[c]!);
  const usedClientNames = new Set<string>();
  const clients: SimClient[] = Array.from({ length: Math.max(12, Math.round(options.producers * 0.9)) }, (_, i) => {
    const country = countries[rng.weightedIndex(countryWeights)]!;
    return {
      id: `C-${pad(i + 1, 4)}`,
      name: clientName(rng, country, usedClientNames),
      country,
      kind: i % 10 < 7 ? 'magnets' : 'materials',
      popularity: rng.logNormal(1, 1),
    };
  });
  const magnetClients = clients.filter((c) => c.kind === 'magnets');
  const materialClients = clients.filter((c) => c.kind === 'materials');
  for (const p of producers) {
    const exportable = p.products.filter((pr) => pr.exportShare > 0).map((pr) => pr.material);
    if (exportable.length === 0) continue;
    const pool = p.stage === 'MAGNET' ? magnetClients : materialClients;
    const k = p.stage === 'MAGNET' ? rng.int(2, 7) : rng.int(1, 4);
    for (const c of weightedSample(rng, pool, (x) => x.popularity, k)) {
      const materials = exportable.length > 1 && rng.chance(0.4) ? [rng.pick(exportable)] : exportable.slice();
      p.clients.push({ clientId: c.id, weight: rng.logNormal(1, 0.6), materials });
    }
  }

  const world: World = {
    producers,
    chainOrder: CHAIN.flatMap((stage) => byStage(stage)),
    producerById: new Map(producers.map((p) => [p.id, p])),
    clients,
    clientById: new Map(clients.map((c) => [c.id, c])),
    licences: [],
  };
  world.licences = planLicences(rng, world, options, catalogue);
  return world;
}

/** kg per calendar day this exporter plans to send this client under licence. */
function plannedDailyKg(p: SimProducer, link: ClientLink, controlled: string[]): number {
  // Production runs about 5.3 days a week.
  const perCalendarDay = 5.3 / 7;
  let kg = 0;
  for (const material of controlled) {
    const product = p.products.find((pr) => pr.material === material);
    if (!product) continue;
    const weightSum = p.clients.filter((l) => l.materials.includes(material)).reduce((s, l) => s + l.weight, 0);
    kg += (product.capacityKg * product.exportShare * perCalendarDay * link.weight) / weightSum;
  }
  return kg;
}

/**
 * Licences per (exporter, client) for the controlled goods the client buys, as a chain of
 * consecutive licences covering the simulated period. Most are term licences with generous
 * quotas; some are contract licences with a quota of a few weeks' deliveries, which run out
 * within the simulation (and then the client waits for the next one). A few are suspended or
 * revoked part-way.
 */
function planLicences(rng: Rng, world: World, options: WorldOptions, catalogue: Catalogue): LicencePlan[] {
  const startMs = options.startDay * DAY_MS;
  const endMs = (options.startDay + options.days) * DAY_MS;
  const plans: LicencePlan[] = [];
  let next = 1;
  for (const p of world.producers) {
    for (const link of p.clients) {
      const controlled = link.materials.filter((m) => catalogue.isControlled(m));
      if (controlled.length === 0) continue;
      const client = world.clientById.get(link.clientId)!;
      const daily = plannedDailyKg(p, link, controlled);
      // The first licence of a chain started some time before the simulation, so some run out in it.
      const firstLength = rng.int(45, 180);
      let validFromDay = options.startDay - rng.int(0, Math.floor(firstLength * 0.8));
      let length = firstLength;
      while (true) {
        const validFrom = validFromDay * DAY_MS;
        const validTo = (validFromDay + length) * DAY_MS - 1;
        // Office hours in Beijing (UTC+8) are 01:00-09:00 UTC.
        const issuedAt = (validFromDay - rng.int(7, 28)) * DAY_MS + rng.int(1, 8) * HOUR_MS + rng.int(0, 59) * 60_000;
        if (issuedAt > endMs) break;
        const contract = rng.chance(0.3);
        const visibleDays = Math.max(1, (Math.min(validTo, endMs) - Math.max(validFrom, startMs)) / DAY_MS);
        const quotaKg = contract
          ? daily * rng.float(10, 25)
          : daily * Math.max(visibleDays, 14) * rng.float(1.4, 2.2);
        const licence: Licence = {
          licenceId: `L-${pad(next, 6)}`,
          exporterId: p.id,
          clientId: client.id,
          clientName: client.name,
          endUserCountry: client.country,
          materials: controlled.slice(),
          quotaKg: Math.max(50, Math.ceil(quotaKg / 10) * 10),
          validFrom,
          validTo,
          status: 'ACTIVE',
          issuedAt,
        };
        next += 1;
        const plan: LicencePlan = { licence };
        const from = Math.max(validFrom, issuedAt, startMs + 3 * DAY_MS);
        const to = Math.min(validTo, endMs - 3 * DAY_MS);
        if (to > from && rng.chance(0.06)) {
          const day = Math.floor((from + rng.next() * (to - from)) / DAY_MS);
          plan.statusChange = {
            at: Math.max(from, day * DAY_MS + rng.int(1, 8) * HOUR_MS),
            status: rng.chance(0.67) ? 'SUSPENDED' : 'REVOKED',
          };
        }
        plans.push(plan);
        if (validTo >= endMs) break;
        // Most renewals follow on directly; some leave a gap while the paperwork is pending.
        validFromDay += length + (rng.chance(0.2) ? rng.int(1, 10) : 0);
        length = rng.int(30, 150);
      }
    }
  }
  return plans;
}

/** Whether a producer declares its stock at the end of `day` (days counted from the simulation start). */
export function declaresOn(p: SimProducer, day: number, startDay: number): boolean {
  if (day === 0) return true;
  if (p.declareEvery === 'fortnight') return day >= p.declareOffset && (day - p.declareOffset) % 14 === 0;
  // Month end: the next day is the 1st.
  return new Date((startDay + day + 1) * DAY_MS).getUTCDate() === 1;
}

/**
 * custody-gap anomalies: a domestic transfer from real stock to one of the seller's regular buyers
 * whose receipt never comes (a phantom or diverted shipment), comes short (goods skimmed in
 * transit), or comes as another material (a heavy rare earth swapped for a light one). The buyer
 * books what its receipt says, so its own books stay clean and only custody-gap is broken.
 */
import type { Catalogue } from '../../domain/catalogue.ts';
import type { SimProducer } from '../world.ts';
import type { InjectionContext, Injector, ShipmentRequest } from './injector.ts';

const RULE = 'custody-gap' as const;

type Variant = 'missing-receipt' | 'short-receipt' | 'other-material-receipt';
const VARIANTS: readonly Variant[] = ['missing-receipt', 'short-receipt', 'other-material-receipt'];

/** Smallest transfer injected: 5 kg, so a short receipt can be a whole kilogram short and still positive. */
const MIN_TRANSFER_G = 5_000;

interface Transfer {
  seller: SimProducer;
  buyerId: string;
  material: string;
  grams: number;
}

/**
 * A transfer a seller could make today from its stock to one of its regular buyers. Neither may be
 * a silenced producer (reporting-gap's): it ships and receives nothing, and a receipt of its own
 * would be a report that breaks the silence.
 */
function pickTransfer(ctx: InjectionContext): Transfer | null {
  const { rng } = ctx;
  for (const seller of rng.shuffled(ctx.world.producers.filter((p) => p.buyers.size > 0 && !ctx.silent(p.id)))) {
    for (const [material, all] of rng.shuffled([...seller.buyers.entries()])) {
      const buyers = all.filter((b) => !ctx.silent(b));
      if (buyers.length === 0) continue;
      const stock = ctx.stockG(seller.id, material);
      const grams = Math.floor((stock * rng.float(0.2, 0.5)) / 1000) * 1000;
      if (grams < MIN_TRANSFER_G) continue;
      return { seller, buyerId: rng.pick(buyers), material, grams };
    }
  }
  return null;
}

/** Another material of the same stage (oxide for oxide), or any other when the stage has one. */
function otherMaterial(ctx: InjectionContext, material: string, catalogue: Catalogue): string {
  const stage = catalogue.get(material)?.stage;
  const all = catalogue.all().filter((m) => m.code !== material);
  const sameStage = all.filter((m) => m.stage === stage);
  return ctx.rng.pick(sameStage.length > 0 ? sameStage : all).code;
}

/** What the buyer's receipt says for the variant. */
function receivedFor(ctx: InjectionContext, variant: Variant, t: Transfer): ShipmentRequest['received'] {
  switch (variant) {
    case 'missing-receipt':
      return null;
    case 'short-receipt': {
      // 5-35 % short and at least a kilogram: beyond any weighing (0.5 %) or moisture (2 %) tolerance.
      const grams = Math.min(Math.floor((t.grams * (1 - ctx.rng.float(0.05, 0.35))) / 1000) * 1000, t.grams - 1000);
      return { material: t.material, grams };
    }
    case 'other-material-receipt':
      return { material: otherMaterial(ctx, t.material, ctx.catalogue), grams: t.grams };
  }
}

export const custodyGapInjector: Injector = {
  ruleId: RULE,
  weight: 0.2,
  // A missing receipt is judged once the watermark passes the shipment + 72 h grace; the
  // watermark trails the last report by its allowed lateness (up to two days of reporting delay).
  tailDays: 6,
  inject(ctx: InjectionContext) {
    const t = pickTransfer(ctx);
    if (!t) return false;
    const variant = ctx.rng.weighted(VARIANTS, (v) => (v === 'short-receipt' ? 2 : 1))!;
    const occurredAt = ctx.workTime();
    const subjects: string[] = [];
    const shipment = ctx.ship({
      producerId: t.seller.id,
      material: t.material,
      grams: t.grams,
      direction: 'DOMESTIC',
      clientId: t.buyerId,
      licenceId: null,
      occurredAt,
      reportedAt: occurredAt + ctx.reportDelay(),
      received: receivedFor(ctx, variant, t),
      onReceipt: (id) => void subjects.push(id),
    });
    ctx.label(variant, { ruleId: RULE, producerId: t.seller.id, clientId: t.buyerId, subjectEventIds: [shipment.reportId, ...subjects] });
    return true;
  },
};

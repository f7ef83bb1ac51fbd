/**
 * hs-misdeclaration anomalies, as the 2025 cases went: Dy-NdFeB magnets declared under the
 * uncontrolled magnet code 8505119000, Dy/Tb oxide or metal declared as nickel powder (HS 7504),
 * and goods declared under another catalogue material's code.
 */
import type { Catalogue } from '../../domain/catalogue.ts';
import { labelOf, properExport, shipDeclared } from './declared-export.ts';
import type { InjectionContext, Injector } from './injector.ts';

const RULE = 'hs-misdeclaration' as const;
const HEAVY = new Set(['DY_OXIDE', 'TB_OXIDE', 'DY_METAL', 'TB_METAL']);

type Variant = 'dy-magnet-as-plain' | 'dy-tb-as-nickel' | 'other-material-code';

/** The code the variant declares the material under, or undefined when it does not apply. */
function codeFor(variant: Variant, material: string, catalogue: Catalogue): string | undefined {
  switch (variant) {
    case 'dy-magnet-as-plain':
      return material === 'NDFEB_DY_MAGNET' ? '8505119000' : undefined;
    case 'dy-tb-as-nickel':
      return HEAVY.has(material) ? '7504001000' : undefined;
    case 'other-material-code':
      return catalogue
        .all()
        .flatMap((m) => m.hsCodes)
        .find((code) => !catalogue.hsCodeFits(material, code));
  }
}

export const hsMisdeclarationInjector: Injector = {
  ruleId: RULE,
  weight: 0.2,
  tailDays: 0,
  inject(ctx: InjectionContext) {
    const variants: Variant[] = ['dy-magnet-as-plain', 'dy-tb-as-nickel', 'other-material-code'];
    const first = ctx.rng.weighted(variants, (v) => (v === 'other-material-code' ? 1 : 2))!;
    for (const variant of [first, ...variants.filter((v) => v !== first)]) {
      const pick = properExport(ctx, (material) => codeFor(variant, material, ctx.catalogue) !== undefined);
      if (!pick) continue;
      const shipment = shipDeclared(ctx, pick, { hsCode: codeFor(variant, pick.material, ctx.catalogue)! });
      ctx.label(variant, { ruleId: RULE, ...labelOf(shipment) });
      return true;
    }
    return false;
  },
};

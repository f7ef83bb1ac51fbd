/** Event-time arithmetic. Days are UTC calendar days counted from the epoch. */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export const dayOf = (epochMs: number): number => Math.floor(epochMs / DAY_MS);
/** The last millisecond of a day: a day's flows are complete once the clock passes it. */
export const dayEnd = (day: number): number => (day + 1) * DAY_MS - 1;
export const dayStart = (day: number): number => day * DAY_MS;
export const isoDay = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);
export const iso = (epochMs: number): string => new Date(epochMs).toISOString();

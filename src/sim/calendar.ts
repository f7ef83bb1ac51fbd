/**
 * How hard the plants work on a given day: a weekly rhythm, a mild seasonal swing and the Chinese
 * public holidays when most plants stand still.
 */
import { DAY_MS } from '../domain/time.ts';

/** Spring Festival shutdowns (first day, length) by year; the date moves with the lunar calendar. */
const SPRING_FESTIVAL: Record<number, [string, number]> = {
  2024: ['2024-02-10', 8],
  2025: ['2025-01-28', 8],
  2026: ['2026-02-15', 9],
  2027: ['2027-02-05', 8],
  2028: ['2028-01-25', 8],
};

/** 0 = Sunday ... 6 = Saturday. Epoch day 0 (1970-01-01) was a Thursday. */
export const weekday = (utcDay: number): number => (((utcDay + 4) % 7) + 7) % 7;

export function holidayFactor(utcDay: number): number {
  const date = new Date(utcDay * DAY_MS);
  const month = date.getUTCMonth() + 1;
  const dom = date.getUTCDate();
  if (month === 10 && dom <= 7) return 0.25; // National Day golden week
  if (month === 5 && dom <= 5) return 0.5; // Labour Day
  const festival = SPRING_FESTIVAL[date.getUTCFullYear()];
  if (festival) {
    const first = Date.parse(`${festival[0]}T00:00:00Z`) / DAY_MS;
    if (utcDay >= first && utcDay < first + festival[1]) return 0.2;
  }
  return 1;
}

/** Mild seasonality: output a few percent higher in early summer than in midwinter. */
export function seasonalFactor(utcDay: number): number {
  const date = new Date(utcDay * DAY_MS);
  const dayOfYear = (Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()) - Date.UTC(date.getUTCFullYear(), 0, 1)) / DAY_MS;
  return 1 + 0.06 * Math.sin((2 * Math.PI * (dayOfYear - 80)) / 365);
}

/**
 * Share of a full day's output a plant produces today: Monday-Friday full, Saturday for plants
 * that run a Saturday shift, never on Sunday.
 */
export function workFactor(utcDay: number, saturdayShift: boolean): number {
  const wd = weekday(utcDay);
  if (wd === 0) return 0;
  if (wd === 6) return saturdayShift ? 0.6 : 0;
  return 1;
}

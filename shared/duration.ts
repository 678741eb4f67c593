// Durations as people write them in scenarios and configs: "40s", "250ms", "2m", "1h"; plain numbers are ms.
import { InputError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The longest duration accepted: 100 years (a 400-digit duration once came out as Infinity, 2026-12). */
export const MAX_DURATION_MS = 100 * 365 * 86_400_000;

/** A duration in ms (rounded), or an InputError saying what was wrong. */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new InputError(`not a duration: ${input}`);
    if (input > MAX_DURATION_MS) throw new InputError(`duration too long: ${input} ms (at most 100 years)`);
    return input;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(input);
  if (!m) throw new InputError(`not a duration: "${input.length > 40 ? `${input.slice(0, 40)}…` : input}" (use e.g. 250ms, 40s, 2m)`);
  const ms = Math.round(Number(m[1]) * UNITS[m[2]!]!);
  if (!(ms <= MAX_DURATION_MS)) throw new InputError(`duration too long: "${input.trim()}" (at most 100 years)`);
  return ms;
}

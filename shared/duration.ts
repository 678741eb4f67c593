// Durations as people write them in scenarios and configs: "40s", "250ms", "2m", "1h"; plain numbers are ms.
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new Error(`not a duration: ${input}`);
    return input;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(input);
  if (!m) throw new Error(`not a duration: "${input}" (use e.g. 250ms, 40s, 2m)`);
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

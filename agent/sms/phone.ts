// Phone numbers as SMS senders give them, normalised for comparison with an allow-list.

/** Drops spaces, dashes, dots and parentheses; "00" becomes "+". Short codes and national numbers stay as they are. */
export function normalizeNumber(n: string): string {
  const s = n.trim().replace(/[\s\-().]/g, '');
  return s.startsWith('00') ? `+${s.slice(2)}` : s;
}

/** Whether `from` is one of `allowed`, compared after normalising both. */
export function numberAllowed(from: string, allowed: readonly string[]): boolean {
  const f = normalizeNumber(from);
  return f.length > 0 && allowed.some((a) => normalizeNumber(a) === f);
}

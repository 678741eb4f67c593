// One-time enrollment codes: 100 random bits as 20 Crockford base32 characters in groups of 4, stored only as their
// SHA-256 (high entropy needs no slow hash); read back forgivingly (case, dashes, spaces, O/I/L) (pure but for the RNG).
import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const CODE_CHARS = 20;

/** A new code, e.g. `7Q2M-9KX4-HT0B-E5RW-1ZPA`. */
export function newCode(random: (n: number) => Buffer = randomBytes): string {
  const bytes = random(CODE_CHARS);
  let s = '';
  for (let i = 0; i < CODE_CHARS; i++) s += ALPHABET[bytes[i]! & 31];
  return s.match(/.{4}/g)!.join('-');
}

/** The code as typed, normalized (upper case, no separators, O→0, I/L→1); null when it cannot be a code. */
export function normalizeCode(text: string): string | null {
  const s = text.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (s.length !== CODE_CHARS || [...s].some((c) => !ALPHABET.includes(c))) return null;
  return s;
}

/** What the store keeps of a code: its SHA-256, hex. */
export function hashCode(normalized: string): string {
  return createHash('sha256').update(normalized).digest('hex');
}

// The admin bearer token: read from admin_token_file (mode 0600, at least 16 characters), compared in constant time, never logged.
import { readFile, stat } from 'node:fs/promises';
import { timingSafeEqual, createHash } from 'node:crypto';
import { InputError } from '../../shared/errors.js';

export async function readTokenFile(path: string, field = 'admin_token_file'): Promise<string> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, field);
  }
  if ((st.mode & 0o077) !== 0) throw new InputError(`${path} is accessible to group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); run chmod 600 ${path}`, field);
  const token = (await readFile(path, 'utf8')).trim();
  if (token.length < 16 || /\s/.test(token)) throw new InputError(`${path} must hold one token of at least 16 characters, no spaces`, field);
  return token;
}

/** True when the Authorization header carries this bearer token (constant time: both sides hashed first). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const a = createHash('sha256').update(m[1]!).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

// Reads a secret file (a private key, a token, a SIM PIN, a bearer password, an SMS secret): refused unless only its owner can read it.
import { readFile, stat } from 'node:fs/promises';
import { InputError } from './errors.js';

/**
 * The file's content, trimmed. Refused with an InputError naming `field` when the file is missing, not a plain
 * file, readable by group or others (the WireGuard key's rule: chmod 600), or empty. The content never appears in
 * an error.
 */
export async function readSecretFile(path: string, field: string): Promise<string> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, field);
  }
  if (!st.isFile()) throw new InputError(`${path} is not a file`, field);
  if ((st.mode & 0o077) !== 0) {
    throw new InputError(`${path} is accessible to group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); run chmod 600 ${path}`, field);
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, field);
  }
  const value = text.trim();
  if (!value) throw new InputError(`${path} is empty`, field);
  return value;
}

// Operators of the admin listener: each a name and the SHA-256 of a token shown once (`roamlink hq operator add`), kept
// in the registry (store/operators: one list for both concentrators; before 2026-12, admin_operators_file, mode 0600,
// which the store adopts once); a request's bearer token names the operator the audit records. Tokens are never
// stored, logged or put in an error.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chown, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { existsSync } from 'node:fs';
import { InputError } from '../../shared/errors.js';
import { readSecretFile } from '../../shared/secret-file.js';

/** An operator's name: what the audit shows (`dashboard:ann`). */
export const OPERATOR_NAME = /^[a-z][a-z0-9._-]{0,31}$/;
/** The name the single token of admin_token_file (before operators) signs in as. */
export const LEGACY_OPERATOR = 'admin';

export interface Operator {
  name: string;
  /** hex SHA-256 of the token. */
  sha256: string;
}

/** A new token: 32 random bytes, base64url, with a prefix that makes a leaked one easy to recognize. */
export function newToken(): string {
  return `rl_${randomBytes(32).toString('base64url')}`;
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function checkOperatorName(name: string, field = 'NAME'): string {
  if (!OPERATOR_NAME.test(name)) throw new InputError(`"${name.slice(0, 40)}" is not an operator name (1-32 of a-z 0-9 . _ -, starting with a letter)`, field);
  return name;
}

const HEADER = '# roamlink admin operators: NAME sha256:HEX (the SHA-256 of their token). Change with roamlink hq operator add|remove.\n';

/** Lines `NAME sha256:HEX`; blank lines and # comments skipped. A bad line is refused naming the file and line. */
export function parseOperators(text: string, file: string, field = 'admin_operators_file'): Operator[] {
  const out: Operator[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^(\S+)\s+sha256:([0-9a-f]{64})$/.exec(line);
    // The line is not quoted: a token pasted here by mistake must not reach a log.
    if (!m) throw new InputError(`${file} line ${i + 1}: not "NAME sha256:HEX" (64 hex digits)`, field);
    if (!OPERATOR_NAME.test(m[1]!)) throw new InputError(`${file} line ${i + 1}: not an operator name`, field);
    if (seen.has(m[1]!)) throw new InputError(`${file} line ${i + 1}: operator ${m[1]} appears twice`, field);
    seen.add(m[1]!);
    out.push({ name: m[1]!, sha256: m[2]! });
  });
  return out;
}

export function formatOperators(ops: readonly Operator[]): string {
  return HEADER + ops.map((o) => `${o.name} sha256:${o.sha256}\n`).join('');
}

/** The operators in `path`; none when the file does not exist. Refused (InputError) when it is open to others or bad. */
export async function readOperatorsFile(path: string): Promise<Operator[]> {
  if (!existsSync(path)) return [];
  return parseOperators(await readSecretFile(path, 'admin_operators_file'), path);
}

/** Replaces the file whole (a temporary file, mode 0600, renamed over it). */
export async function writeOperatorsFile(path: string, ops: readonly Operator[]): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, formatOperators(ops), { mode: 0o600 });
  // Written by root's CLI, read by the daemon's user: the file belongs to whoever owns the state directory.
  if (process.getuid?.() === 0) {
    const dir = await stat(dirname(path));
    await chown(tmp, dir.uid, dir.gid);
  }
  await rename(tmp, path);
}

/** The single token of admin_token_file (the configuration before operators): mode 0600, one token of 16+ characters. */
export async function readTokenFile(path: string, field = 'admin_token_file'): Promise<string> {
  const token = await readSecretFile(path, field);
  if (token.length < 16 || /\s/.test(token)) throw new InputError(`${path} must hold one token of at least 16 characters, no spaces`, field);
  return token;
}

/** Who a bearer token belongs to, compared in constant time against every operator's hash. Replaced whole on reload. */
export class OperatorTable {
  private entries: Array<{ name: string; hash: Buffer }> = [];

  constructor(ops: readonly Operator[] = []) {
    this.replace(ops);
  }

  replace(ops: readonly Operator[]): void {
    this.entries = ops.map((o) => ({ name: o.name, hash: Buffer.from(o.sha256, 'hex') }));
  }

  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  /** The operator named by `Authorization: Bearer TOKEN`, or null. Every entry is compared (no early exit). */
  authenticate(authorization: string | undefined): string | null {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) return null;
    const presented = createHash('sha256').update(m[1]!).digest();
    let who: string | null = null;
    for (const e of this.entries) if (timingSafeEqual(presented, e.hash) && who === null) who = e.name;
    return who;
  }
}

/**
 * The table the admin listener uses: the store's operators, plus the legacy admin_token_file's token as operator
 * `admin` when configured (the migration path: see docs/operator-guide.md, "Operators and their tokens").
 */
export async function loadOperators(src: { stored: readonly Operator[]; legacyToken?: string }): Promise<Operator[]> {
  const ops = [...src.stored];
  if (src.legacyToken) {
    if (ops.some((o) => o.name === LEGACY_OPERATOR)) {
      throw new InputError(`operator "${LEGACY_OPERATOR}" is in the store and also the name of admin_token_file's token: remove admin_token_file (or that operator)`, 'admin_token_file');
    }
    const sha256 = tokenHash(await readTokenFile(src.legacyToken));
    // Already adopted under a name (`operator add NAME --token-file`): that name is the one the audit shows.
    if (!ops.some((o) => o.sha256 === sha256)) ops.push({ name: LEGACY_OPERATOR, sha256 });
  }
  return ops;
}

// HQ's identity for a second concentrator (issue 14): its WireGuard private key and the admin listener's certificate
// and key, bundled by `roamlink hq identity export` into one file (mode 0600) and written by `import` on the other
// machine where its hq.yaml says, each key file mode 0600 as the WireGuard key always was. Private keys stay files on
// the two machines, never in the database both read. No key reaches a log line, an error or the output.
import { X509Certificate } from 'node:crypto';
import { chown, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import { z } from 'zod';
import { readPrivateKeyFile, type HqConfig } from '../shared/config/hq.js';
import { loadAdminTls } from '../shared/config/admin-tls.js';
import { InputError } from '../shared/errors.js';
import { readSecretFile } from '../shared/secret-file.js';
import { assertWgKey, publicKeyOf } from '../shared/wg.keys.js';

export const IDENTITY_FORMAT = 'roamlink-hq-identity';

const Bundle = z.strictObject({
  format: z.literal(IDENTITY_FORMAT),
  version: z.literal(1),
  wireguard_private_key: z.string(),
  admin_tls: z.strictObject({ cert: z.string(), key: z.string() }).optional(),
});
export type IdentityBundle = z.infer<typeof Bundle>;

/** What an operator compares on both machines: never a private key. */
export interface IdentitySummary {
  public_key: string;
  admin_sha256: string | null;
}

/** HQ's identity as this config's files hold it (each checked as the daemon checks it at start). */
export async function readIdentity(cfg: Pick<HqConfig, 'private_key_file' | 'admin_tls'>): Promise<{ bundle: IdentityBundle; summary: IdentitySummary }> {
  const key = await readPrivateKeyFile(cfg.private_key_file);
  const tls = cfg.admin_tls ? await loadAdminTls(cfg.admin_tls) : null;
  return {
    bundle: { format: IDENTITY_FORMAT, version: 1, wireguard_private_key: key, ...(tls ? { admin_tls: { cert: tls.cert, key: tls.key } } : {}) },
    summary: { public_key: publicKeyOf(key), admin_sha256: tls?.fingerprint256 ?? null },
  };
}

/** Writes the bundle to `file`, mode 0600; refused when the file exists (a bundle is made fresh for each move). */
export async function exportIdentity(cfg: Pick<HqConfig, 'private_key_file' | 'admin_tls'>, file: string): Promise<IdentitySummary> {
  const { bundle, summary } = await readIdentity(cfg);
  try {
    await writeFile(file, `${JSON.stringify(bundle)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(code === 'EEXIST' ? `${file} exists: give a new file (and delete it once imported)` : `cannot write ${file}: ${code ?? String(err)}`, 'FILE');
  }
  return summary;
}

/** The bundle in `file`: mode 0600 (a secret file), the format, a WireGuard key, a certificate and its key that match. */
export async function readBundle(file: string): Promise<{ bundle: IdentityBundle; summary: IdentitySummary }> {
  const text = await readSecretFile(file, 'FILE');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InputError(`${file} is not a roamlink HQ identity (not JSON)`, 'FILE');
  }
  const r = Bundle.safeParse(parsed);
  // Which field, never its value.
  if (!r.success) throw new InputError(`${file} is not a roamlink HQ identity (version 1): ${r.error.issues[0]?.path.join('.') || 'format'} is wrong`, 'FILE');
  const b = r.data;
  assertWgKey(b.wireguard_private_key, 'FILE: wireguard_private_key', false);
  let admin: string | null = null;
  if (b.admin_tls) {
    try {
      admin = new X509Certificate(b.admin_tls.cert).fingerprint256;
      createSecureContext({ cert: b.admin_tls.cert, key: b.admin_tls.key });
    } catch {
      throw new InputError(`${file}: admin_tls is not a certificate and its private key`, 'FILE');
    }
  }
  return { bundle: b, summary: { public_key: publicKeyOf(b.wireguard_private_key), admin_sha256: admin } };
}

export type WriteResult = 'written' | 'replaced' | 'unchanged';

/**
 * Writes `content` to `path` whole (a temporary file renamed over it), with `mode`; the owner of the file it replaces,
 * or of its directory (the daemon's user reads it). A different file there is refused unless `force`.
 */
async function place(path: string, content: string, mode: number, field: string, force: boolean): Promise<WriteResult> {
  const had = existsSync(path);
  if (had) {
    const now = await readFile(path, 'utf8').catch(() => null);
    if (now !== null && now.trim() === content.trim()) return 'unchanged';
    if (!force) throw new InputError(`${path} exists and differs from the identity being imported (--force replaces it; the old one is lost)`, field);
  }
  const owner = await stat(had ? path : dirname(path));
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, content.endsWith('\n') ? content : `${content}\n`, { mode });
  if (process.getuid?.() === 0) await chown(tmp, owner.uid, owner.gid);
  await rename(tmp, path);
  return had ? 'replaced' : 'written';
}

/**
 * Writes the bundle's keys where this config says (private_key_file, admin_tls.cert and .key). Nothing is written
 * unless every target can take it: a config without admin_tls for a bundle that has one, or a different file there
 * without `force`, is refused first. The running concentrator takes them at its next restart.
 */
export async function importIdentity(cfg: Pick<HqConfig, 'private_key_file' | 'admin_tls'>, file: string, force = false): Promise<{ summary: IdentitySummary; files: Record<string, WriteResult> }> {
  const { bundle, summary } = await readBundle(file);
  if (bundle.admin_tls && !cfg.admin_tls) throw new InputError('the identity holds the admin certificate and key: give hq.yaml admin_tls: {cert, key} (where to write them) first', 'admin_tls');
  const targets: Array<{ path: string; content: string; mode: number; field: string }> = [
    { path: cfg.private_key_file, content: bundle.wireguard_private_key, mode: 0o600, field: 'private_key_file' },
    ...(bundle.admin_tls && cfg.admin_tls
      ? [
          { path: cfg.admin_tls.cert, content: bundle.admin_tls.cert, mode: 0o644, field: 'admin_tls.cert' },
          { path: cfg.admin_tls.key, content: bundle.admin_tls.key, mode: 0o600, field: 'admin_tls.key' },
        ]
      : []),
  ];
  // Checked whole before anything is written: an import refused changes nothing.
  if (!force) {
    for (const t of targets) {
      if (!existsSync(t.path)) continue;
      const now = await readFile(t.path, 'utf8').catch(() => null);
      if (now === null || now.trim() !== t.content.trim()) throw new InputError(`${t.path} exists and differs from the identity being imported (--force replaces it; the old one is lost)`, t.field);
    }
  }
  const files: Record<string, WriteResult> = {};
  for (const t of targets) files[t.field] = await place(t.path, t.content, t.mode, t.field, force);
  return { summary, files };
}

// The admin listener's TLS material (hq config admin_tls): the certificate read and parsed, the key read as a secret
// file (mode 0600), and the pair checked to match, each failure an InputError naming the field.
import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { createSecureContext as tlsContext } from 'node:tls';
import { InputError } from '../errors.js';
import { readSecretFile } from '../secret-file.js';

export interface AdminTls {
  /** PEM: the certificate, then any chain. */
  cert: string;
  /** PEM: the private key (never logged, never in an error). */
  key: string;
  /** The leaf certificate's SHA-256 fingerprint (what an operator compares in the browser), and its end of validity. */
  fingerprint256: string;
  validTo: Date;
}

export async function loadAdminTls(files: { cert: string; key: string }): Promise<AdminTls> {
  let cert: string;
  try {
    cert = await readFile(files.cert, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read ${files.cert}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'admin_tls.cert');
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new InputError(`${files.cert} holds no PEM certificate`, 'admin_tls.cert');
  }
  const key = await readSecretFile(files.key, 'admin_tls.key');
  try {
    tlsContext({ cert, key });
  } catch (err) {
    // OpenSSL's reason only (e.g. "key values mismatch"): it never quotes the key.
    const reason = (err as { reason?: string }).reason ?? ((err as Error).message.split(':').pop() ?? '').trim();
    throw new InputError(`${files.key} is not the private key of ${files.cert} (${reason || 'unreadable key'})`, 'admin_tls.key');
  }
  return { cert, key, fingerprint256: x509.fingerprint256, validTo: new Date(x509.validTo) };
}

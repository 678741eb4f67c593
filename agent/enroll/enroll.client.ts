// `roamlink enroll`'s request to HQ: POST /v1/enroll over HTTPS, HQ's certificate pinned (its SHA-256) or checked
// against a CA file, verified before the code is sent; bounded in time. The code never appears in an error.
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { InputError } from '../../shared/errors.js';
import { enrollResponseSchema, type EnrollResponse } from '../../shared/wire/enroll.js';

export interface EnrollTarget {
  host: string;
  port: number;
  /** HQ's certificate's SHA-256 (hex, colons optional), as `roamlink vehicle add` prints it. */
  pin?: string;
  /** PEM of a CA (or HQ's certificate itself) to verify HQ by, with its name. */
  ca?: string;
  timeoutMs?: number;
}

/** A refusal by HQ (4xx): exit 2, HQ's message (which never quotes the code). */
export class EnrollRefused extends InputError {}

export function normalizePin(pin: string): string {
  const hex = pin.replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) throw new InputError('must be a SHA-256 fingerprint (64 hex digits, colons optional)', '--pin');
  return hex;
}

/** host[:port] (IPv6 in brackets) to its parts; the port defaults to 8444. */
export function parseHq(text: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]+)(?::(\d{1,5}))?$/.exec(text);
  const port = m?.[2] ? Number(m[2]) : 8444;
  if (!m || port < 1 || port > 65535) throw new InputError(`${JSON.stringify(text)} is not HOST or HOST:PORT`, '--hq');
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export function requestEnrollment(t: EnrollTarget, body: { code: string; public_key: string }): Promise<EnrollResponse> {
  if (!t.pin && !t.ca) return Promise.reject(new InputError("needs HQ's certificate: --pin SHA256 (roamlink vehicle add prints it) or --ca FILE", '--pin'));
  const pin = t.pin ? normalizePin(t.pin) : null;
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({
      host: t.host, port: t.port, method: 'POST', path: '/v1/enroll', timeout: t.timeoutMs ?? 15_000, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      // Pinned: the chain is not checked (a self-signed pair), the leaf's fingerprint is, before anything is sent.
      ...(pin ? { rejectUnauthorized: false } : { ca: t.ca }),
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          return reject(new Error(`HQ answered ${res.statusCode} without JSON`));
        }
        const status = res.statusCode ?? 0;
        if (status >= 400) {
          const e = (parsed as { error?: { code?: string; message?: string; field?: string } }).error;
          const msg = `HQ refused (${status} ${e?.code ?? ''}): ${e?.message ?? 'no reason given'}`;
          return reject(status < 500 ? new EnrollRefused(msg) : new Error(msg));
        }
        const r = enrollResponseSchema.safeParse(parsed);
        if (!r.success) return reject(new Error(`HQ's answer is not an enrollment: ${r.error.issues[0]?.message ?? ''}`));
        resolve(r.data);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${t.host}:${t.port} within ${t.timeoutMs ?? 15_000} ms`)));
    req.on('error', (err) => reject(err instanceof InputError ? err : new Error(`cannot reach HQ at ${t.host}:${t.port}: ${err.message}`)));
    req.on('socket', (s) => {
      const sock = s as TLSSocket;
      sock.once('secureConnect', () => {
        if (pin) {
          const got = sock.getPeerCertificate().fingerprint256?.replace(/:/g, '').toUpperCase();
          if (got !== pin) {
            req.destroy(new InputError(`HQ's certificate is ${sock.getPeerCertificate().fingerprint256 ?? 'absent'}, not the pinned one: nothing was sent`, '--pin'));
            return;
          }
        }
        req.end(data);
      });
    });
  });
}

// WireGuard keys and interface names (pure): validators, and a private key's public key computed in-process.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { InputError } from './errors.js';

/** 44 characters of base64 encoding exactly 32 bytes: the last data character carries 4 bits, so its low 2 are 0. */
const KEY_RE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export function isWgKey(s: string): boolean {
  return KEY_RE.test(s) && Buffer.from(s, 'base64').length === 32;
}

/**
 * Returns the trimmed key or throws an InputError naming `field`. The value is quoted only when `quote` is set:
 * never quote what might be a private key.
 */
export function assertWgKey(s: string, field: string, quote = true): string {
  const k = s.trim();
  if (!isWgKey(k)) {
    const shown = quote ? `"${k.length > 60 ? `${k.slice(0, 60)}…` : k}" is not` : 'not';
    throw new InputError(`${shown} a WireGuard key (44 characters of base64 encoding 32 bytes)`, field);
  }
  return k;
}

/** Linux interface names: 1–15 characters; we allow the set wg-quick allows. */
const IFNAME_RE = /^[a-zA-Z0-9_=+.-]{1,15}$/;

export function isIfName(s: string): boolean {
  return IFNAME_RE.test(s);
}

export function assertIfName(s: string, field: string): string {
  if (!isIfName(s)) throw new InputError(`"${s}" is not an interface name (1-15 characters of a-z A-Z 0-9 _ = + . -)`, field);
  return s;
}

/**
 * The public key of a WireGuard private key (X25519, both base64), as `wg pubkey` prints it, without running it: the
 * concentrator needs it before it answers its agents, and a process costs tens of ms on a loaded machine.
 */
export function publicKeyOf(privateKey: string): string {
  const d = Buffer.from(privateKey.trim(), 'base64').toString('base64url');
  const jwk = createPublicKey(createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: '' }, format: 'jwk' })).export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url').toString('base64');
}

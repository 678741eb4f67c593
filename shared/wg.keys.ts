// WireGuard keys and interface names (pure): validators, and a private key's public key computed in-process.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
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
  return publicKeyOfRaw(privateKey);
}

/** A new WireGuard private key (X25519, base64, clamped as `wg genkey` prints it), made in this process. */
export function generatePrivateKey(): string {
  const k = randomBytes(32);
  k[0]! &= 248;
  k[31] = (k[31]! & 127) | 64;
  return k.toString('base64');
}

function publicKeyOfRaw(privateKey: string): string {
  const raw = Buffer.from(privateKey.trim(), 'base64');
  const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
  // An X25519 SubjectPublicKeyInfo ends with the 32 bytes of the public key.
  return (createPublicKey(key).export({ format: 'der', type: 'spki' }) as Buffer).subarray(-32).toString('base64');
}

/**
 * PKCS#8 wrapping of a raw X25519 private key (RFC 8410): SEQUENCE { version 0, AlgorithmIdentifier 1.3.101.110,
 * OCTET STRING { OCTET STRING (32 bytes) } }. DER, not JWK: Node 24 refuses a JWK private key without its public half.
 */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

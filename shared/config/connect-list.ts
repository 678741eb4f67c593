// The connect-list (which APs a radio may join, in order of preference): its zod schema; errors name the entry.
import { z } from 'zod';
import { parseOrThrow } from '../errors.js';
// CIDR arithmetic lives with the concentrator (see shared/config/hq.ts, which does the same).
import { containsAddress, parseCidr, parseIPv4 } from '../../concentrator/cidr.js';

/*
 * An entry, as written in the agent config (or a scenario's `agent:`), RouterOS connect-list style:
 *
 *   connect_list:
 *     - { ssid: depot, min_signal: -80 }                                   # open, DHCP
 *     - { ssid: street-7, security: psk, psk: "s3cret-pass", min_signal: -78 }
 *     - { ssid_prefix: "city-", area: "02:00:00:00:01", min_signal: -75 }  # any city-* AP of one area
 *     - { ssid: yard, bssid: "02:00:00:00:02:07", addressing: { static: { address: 10.7.0.20/24, gateway: 10.7.0.1 } } }
 *
 * Identity (which APs an entry is about):
 *   - `ssid` (exact) or `ssid_prefix` (the SSID starts with it): exactly one of them.
 *   - optionally `bssid` (one AP, a full MAC) or `area` (a BSSID prefix of 1 to 5 octets, e.g. "02:00:00:00:01"
 *     matches 02:00:00:00:01:00 … 02:00:00:00:01:ff: the APs of one area, as vendors number them). A full MAC in
 *     `area` or a partial one in `bssid` is refused, so a typo cannot silently widen or narrow an entry.
 *   - `security` (default open): an entry only matches APs that advertise that security (open: no WPA/RSN/WEP
 *     flags; psk: WPA-PSK/WPA2-PSK), so an open look-alike of a psk network is never joined.
 * Verdict: `min_signal` (dBm, default -80): the first entry whose identity matches an AP decides; the AP is allowed
 * when it is at least that strong. There is an implicit last entry: "connect to nothing else".
 * Addressing: `dhcp` (default) or `{ static: { address: CIDR, gateway } }` for that entry's APs.
 */

export const DEFAULT_MIN_SIGNAL = -80;

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const MAC_PREFIX_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){0,4}$/i;

/** printable ASCII, 8..63 characters (a passphrase), or 64 hex digits (the raw PSK): what wpa_supplicant takes. */
export function isValidPsk(s: string): boolean {
  return /^[\x20-\x7e]{8,63}$/.test(s) || /^[0-9a-fA-F]{64}$/.test(s);
}

function ssidText(what: string) {
  return z
    .string({ error: `${what} must be a string` })
    .refine((s) => s.length > 0, { error: `${what} must not be empty` })
    .refine((s) => Buffer.byteLength(s, 'utf8') <= 32, { error: (iss) => `${what} ${JSON.stringify(iss.input)} is longer than 32 bytes` });
}

const mac = z
  .string({ error: 'bssid must be a string such as "02:00:00:00:00:01"' })
  .refine((s) => MAC_RE.test(s), {
    error: (iss) => {
      const s = String(iss.input);
      const hint = MAC_PREFIX_RE.test(s) ? ' (for a prefix matching several APs, use area)' : '';
      return `${JSON.stringify(s)} is not a MAC address${hint}`;
    },
  })
  .transform((s) => s.toLowerCase());

const area = z
  .string({ error: 'area must be a string such as "02:00:00:00:01"' })
  .refine((s) => MAC_PREFIX_RE.test(s), {
    error: (iss) => {
      const s = String(iss.input);
      const hint = MAC_RE.test(s) ? ' (a full MAC: use bssid)' : ' (1 to 5 octets, e.g. "02:00:00:00:01")';
      return `${JSON.stringify(s)} is not a BSSID prefix${hint}`;
    },
  })
  .transform((s) => s.toLowerCase());

const minSignal = z
  .number({ error: 'min_signal must be a number of dBm, e.g. -75' })
  .refine((n) => Number.isFinite(n) && n < 0, { error: (iss) => `${String(iss.input)} is not a signal level (dBm are negative, e.g. -75)` })
  .refine((n) => n >= -120, { error: (iss) => `${String(iss.input)} dBm is below any radio's range (at least -120)` });

const security = z.enum(['open', 'psk'], { error: (iss) => `unknown security ${JSON.stringify(iss.input)} (use open or psk)` });

const staticAddressing = z.strictObject({
  static: z
    .strictObject({
      address: z.string().refine((s) => parseCidr(s) !== null && !s.endsWith('/0'), {
        error: (iss) => `${JSON.stringify(iss.input)} is not an IPv4 address with its prefix, e.g. 10.7.0.20/24`,
      }),
      gateway: z.string().refine((s) => parseIPv4(s) !== null, { error: (iss) => `${JSON.stringify(iss.input)} is not an IPv4 address` }),
    })
    .superRefine((s, ctx) => {
      const c = parseCidr(s.address);
      const gw = parseIPv4(s.gateway);
      if (c && gw !== null && c.prefix < 32 && !containsAddress(c, gw)) {
        ctx.addIssue({ code: 'custom', path: ['gateway'], message: `${s.gateway} is not inside ${s.address}` });
      }
      if (c && gw !== null && gw === c.addr) ctx.addIssue({ code: 'custom', path: ['gateway'], message: `${s.gateway} is the address itself` });
    }),
});

const addressing = z
  .union([z.literal('dhcp'), staticAddressing], {
    error: (iss) =>
      iss.code === 'invalid_union' ? `addressing must be dhcp or { static: { address: CIDR, gateway: IP } }, not ${JSON.stringify(iss.input)}` : undefined,
  })
  .transform((a): Addressing => (a === 'dhcp' ? { mode: 'dhcp' } : { mode: 'static', address: a.static.address, gateway: a.static.gateway }));

export type Addressing = { mode: 'dhcp' } | { mode: 'static'; address: string; gateway: string };

export const connectEntrySchema = z
  .strictObject({
    ssid: ssidText('ssid').optional(),
    ssid_prefix: ssidText('ssid_prefix').optional(),
    bssid: mac.optional(),
    area: area.optional(),
    min_signal: minSignal.default(DEFAULT_MIN_SIGNAL),
    security: security.default('open'),
    psk: z.string({ error: 'psk must be a string' }).optional(),
    addressing: addressing.default({ mode: 'dhcp' }),
  })
  .superRefine((e, ctx) => {
    if (e.ssid === undefined && e.ssid_prefix === undefined) ctx.addIssue({ code: 'custom', path: ['ssid'], message: 'needs ssid (or ssid_prefix)' });
    if (e.ssid !== undefined && e.ssid_prefix !== undefined) ctx.addIssue({ code: 'custom', path: ['ssid_prefix'], message: 'give ssid or ssid_prefix, not both' });
    if (e.bssid !== undefined && e.area !== undefined) ctx.addIssue({ code: 'custom', path: ['area'], message: 'give bssid or area, not both' });
    // Never quote the psk itself in a message: it is a secret.
    if (e.security === 'psk' && e.psk === undefined) ctx.addIssue({ code: 'custom', path: ['psk'], message: 'security psk needs a psk' });
    if (e.security === 'psk' && e.psk !== undefined && !isValidPsk(e.psk)) {
      ctx.addIssue({ code: 'custom', path: ['psk'], message: `not a valid psk (8 to 63 printable ASCII characters, or 64 hex digits; got ${e.psk.length} characters)` });
    }
    if (e.security === 'open' && e.psk !== undefined) ctx.addIssue({ code: 'custom', path: ['psk'], message: 'a psk on an open entry: set security: psk' });
  })
  .transform((e): ConnectEntry => {
    const out: ConnectEntry = { min_signal: e.min_signal, security: e.security, addressing: e.addressing };
    if (e.ssid !== undefined) out.ssid = e.ssid;
    if (e.ssid_prefix !== undefined) out.ssid_prefix = e.ssid_prefix;
    if (e.bssid !== undefined) out.bssid = e.bssid;
    if (e.area !== undefined) out.area = e.area;
    if (e.psk !== undefined) out.psk = e.psk;
    return out;
  });

/** One connect-list entry, normalized: MACs lower-case, defaults filled in. */
export interface ConnectEntry {
  ssid?: string;
  ssid_prefix?: string;
  /** One AP. */
  bssid?: string;
  /** A BSSID prefix (1–5 octets, lower-case, no trailing colon). */
  area?: string;
  /** dBm. */
  min_signal: number;
  security: 'open' | 'psk';
  /** Present iff security is psk. Never logged. */
  psk?: string;
  addressing: Addressing;
}

export const connectListSchema = z.array(connectEntrySchema, { error: 'connect_list must be a list of entries' });
export type ConnectList = ConnectEntry[];

/**
 * Parses a connect-list on its own; errors name the entry, e.g.
 * `agent.yaml: connect_list[2].bssid: "02:00:zz" is not a MAC address`.
 */
export function parseConnectList(value: unknown, what = 'config'): ConnectList {
  return parseOrThrow(z.object({ connect_list: connectListSchema }), { connect_list: value }, what).connect_list;
}

/** A short, secret-free description of an entry for logs and the switch log's why: `#1 street-* @02:00:00:00:01`. */
export function describeEntry(e: ConnectEntry, index: number): string {
  const id = e.ssid !== undefined ? JSON.stringify(e.ssid) : `${JSON.stringify(e.ssid_prefix)}*`;
  const where = e.bssid ? ` @${e.bssid}` : e.area ? ` @${e.area}:*` : '';
  return `connect_list[${index}] ${id}${where} ≥${e.min_signal}dBm`;
}

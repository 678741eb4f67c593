// SMS PDU codec (3GPP 23.040/23.038): decode SMS-DELIVER/SUBMIT with GSM 7-bit, 8-bit and UCS2, encode SMS-SUBMIT parts.

/** GSM 03.38 default alphabet, indexed by septet value. 0x1B is the escape to the extension table. */
export const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';

/** The extension table: septet after ESC -> character. */
export const GSM7_EXT: Readonly<Record<number, string>> = {
  0x0a: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2f: '\\', 0x3c: '[', 0x3d: '~', 0x3e: ']', 0x40: '|', 0x65: '€',
};

const BASIC_REVERSE = new Map<string, number>();
for (let i = 0; i < GSM7_BASIC.length; i++) if (i !== 0x1b) BASIC_REVERSE.set(GSM7_BASIC[i]!, i);
const EXT_REVERSE = new Map<string, number>();
for (const [k, v] of Object.entries(GSM7_EXT)) EXT_REVERSE.set(v, Number(k));

export type Alphabet = 'gsm7' | '8bit' | 'ucs2';

/** Septets for a text in the GSM default alphabet, or null if a character is not in it. */
export function toSeptets(text: string): number[] | null {
  const out: number[] = [];
  for (const ch of text) {
    const b = BASIC_REVERSE.get(ch);
    if (b !== undefined) { out.push(b); continue; }
    const e = EXT_REVERSE.get(ch);
    if (e !== undefined) { out.push(0x1b, e); continue; }
    return null;
  }
  return out;
}

export function fromSeptets(septets: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < septets.length; i++) {
    const v = septets[i]! & 0x7f;
    if (v === 0x1b && i + 1 < septets.length) {
      const ext = GSM7_EXT[septets[i + 1]! & 0x7f];
      i++;
      s += ext ?? ' ';
      continue;
    }
    s += GSM7_BASIC[v] ?? '?';
  }
  return s;
}

/** Packs septets LSB-first after `prefix` octets (a UDH), with fill bits up to the next septet boundary. */
export function packSeptets(septets: readonly number[], prefix: readonly number[] = []): Buffer {
  const bits: number[] = [];
  for (const b of prefix) for (let i = 0; i < 8; i++) bits.push((b >> i) & 1);
  while (bits.length % 7 !== 0) bits.push(0);
  for (const s of septets) for (let i = 0; i < 7; i++) bits.push((s >> i) & 1);
  const out = Buffer.alloc(Math.ceil(bits.length / 8));
  bits.forEach((bit, i) => { if (bit) out[i >> 3]! |= 1 << (i & 7); });
  return out;
}

/** Unpacks `count` septets starting at bit 0 of `data`. */
export function unpackSeptets(data: Uint8Array, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const bit = i * 7;
    const byte = bit >> 3;
    const shift = bit & 7;
    if (byte >= data.length) break;
    let v = data[byte]! >> shift;
    if (shift > 1 && byte + 1 < data.length) v |= data[byte + 1]! << (8 - shift);
    out.push(v & 0x7f);
  }
  return out;
}

/** UCS2 (UTF-16BE) bytes to a string, keeping lone surrogates so that split parts join back whole. */
export function decodeUcs2(data: Uint8Array): string {
  let s = '';
  for (let i = 0; i + 1 < data.length; i += 2) s += String.fromCharCode((data[i]! << 8) | data[i + 1]!);
  return s;
}

export function encodeUcs2(text: string): Buffer {
  const out = Buffer.alloc(text.length * 2);
  for (let i = 0; i < text.length; i++) out.writeUInt16BE(text.charCodeAt(i), i * 2);
  return out;
}

/** The alphabet of an SMS data coding scheme (23.038 §4). */
export function smsAlphabet(dcs: number): Alphabet {
  const group = dcs >> 4;
  if (group <= 7) {
    const a = (dcs >> 2) & 0x03;
    return a === 1 ? '8bit' : a === 2 ? 'ucs2' : 'gsm7';
  }
  if (group === 0xe) return 'ucs2';
  if (group === 0xf) return dcs & 0x04 ? '8bit' : 'gsm7';
  return 'gsm7'; // 0xC, 0xD: message waiting, GSM 7-bit
}

/** The alphabet of a cell-broadcast/USSD data coding scheme (23.038 §5). */
export function cbsAlphabet(dcs: number): Alphabet {
  const group = dcs >> 4;
  if (dcs === 0x11) return 'ucs2';
  if (group <= 3) return 'gsm7';
  if (group >= 4 && group <= 7) {
    const a = (dcs >> 2) & 0x03;
    return a === 1 ? '8bit' : a === 2 ? 'ucs2' : 'gsm7';
  }
  if (group === 0xf) return dcs & 0x04 ? '8bit' : 'gsm7';
  return 'gsm7';
}

export function isHex(s: string): boolean {
  return s.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(s);
}

export interface Concat {
  ref: number;
  total: number;
  seq: number;
}

export interface DecodedPdu {
  type: 'deliver' | 'submit' | 'status-report' | 'unknown';
  smsc?: string;
  /** Originating (deliver) or destination (submit) address. */
  address: string;
  alphabet: Alphabet;
  text: string;
  /** Service-centre time stamp as ISO 8601 with offset (deliver only). */
  timestamp?: string;
  concat?: Concat;
  /** True when the raw user data is kept in `data` because the alphabet is 8-bit. */
  data?: Buffer;
}

export class PduError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PduError';
  }
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  byte(): number {
    if (this.pos >= this.buf.length) throw new PduError(`PDU too short at octet ${this.pos}`);
    return this.buf[this.pos++]!;
  }
  bytes(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new PduError(`PDU too short: want ${n} octets at ${this.pos}`);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  rest(): Buffer {
    return this.buf.subarray(this.pos);
  }
}

function semiOctets(b: Uint8Array, digits: number): string {
  const map = '0123456789*#abc';
  let s = '';
  for (let i = 0; i < digits; i++) {
    const byte = b[i >> 1]!;
    const nib = i & 1 ? byte >> 4 : byte & 0x0f;
    if (nib === 0x0f) break;
    s += map[nib] ?? '';
  }
  return s;
}

function readAddress(r: Reader, lengthInDigits: boolean): string {
  const len = r.byte();
  if (len === 0) return '';
  const toa = r.byte();
  const octets = lengthInDigits ? Math.ceil(len / 2) : len - 1;
  const raw = r.bytes(octets);
  if ((toa & 0x70) === 0x50) {
    // Alphanumeric sender, GSM 7-bit packed.
    const semi = lengthInDigits ? len : octets * 2;
    return fromSeptets(unpackSeptets(raw, Math.floor((semi * 4) / 7)));
  }
  const digits = semiOctets(raw, lengthInDigits ? len : octets * 2);
  return (toa & 0x70) === 0x10 ? `+${digits}` : digits;
}

function swapDigits(b: number): number {
  return (b & 0x0f) * 10 + (b >> 4);
}

function readTimestamp(r: Reader): string {
  const t = r.bytes(7);
  const [yy, mo, dd, hh, mi, ss] = [0, 1, 2, 3, 4, 5].map((i) => swapDigits(t[i]!));
  const tzRaw = t[6]!;
  const quarters = (tzRaw & 0x07) * 10 + (tzRaw >> 4);
  const neg = (tzRaw & 0x08) !== 0;
  const minutes = quarters * 15;
  const p = (n: number) => String(n).padStart(2, '0');
  return `20${p(yy!)}-${p(mo!)}-${p(dd!)}T${p(hh!)}:${p(mi!)}:${p(ss!)}${neg ? '-' : '+'}${p(Math.floor(minutes / 60))}:${p(minutes % 60)}`;
}

function parseUdh(udh: Uint8Array): Concat | undefined {
  let i = 0;
  let concat: Concat | undefined;
  while (i + 1 < udh.length) {
    const iei = udh[i]!;
    const len = udh[i + 1]!;
    const v = udh.subarray(i + 2, i + 2 + len);
    if (iei === 0x00 && len === 3) concat = { ref: v[0]!, total: v[1]!, seq: v[2]! };
    if (iei === 0x08 && len === 4) concat = { ref: (v[0]! << 8) | v[1]!, total: v[2]!, seq: v[3]! };
    i += 2 + len;
  }
  return concat && concat.total > 0 && concat.seq > 0 ? concat : undefined;
}

function readUserData(r: Reader, dcs: number, udhi: boolean): { text: string; alphabet: Alphabet; concat?: Concat; data?: Buffer } {
  const udl = r.byte();
  const ud = r.rest();
  const alphabet = smsAlphabet(dcs);
  let concat: Concat | undefined;
  let headerOctets = 0;
  if (udhi && ud.length > 0) {
    const udhl = ud[0]!;
    headerOctets = udhl + 1;
    concat = parseUdh(ud.subarray(1, headerOctets));
  }
  if (alphabet === 'gsm7') {
    const headerSeptets = Math.ceil((headerOctets * 8) / 7);
    const septets = unpackSeptets(ud, udl);
    return { text: fromSeptets(septets.slice(headerSeptets)), alphabet, concat };
  }
  const body = ud.subarray(headerOctets, udl);
  if (alphabet === 'ucs2') return { text: decodeUcs2(body), alphabet, concat };
  return { text: body.toString('latin1'), alphabet, concat, data: Buffer.from(body) };
}

/** Decodes one PDU as the modem lists it (with the SMSC prefix, as in +CMGL/+CMGR in PDU mode). */
export function decodePdu(hex: string, opts: { hasSmsc?: boolean } = {}): DecodedPdu {
  const clean = hex.trim();
  if (!isHex(clean) || clean.length < 4) throw new PduError(`not a PDU: "${clean.slice(0, 40)}"`);
  const r = new Reader(Buffer.from(clean, 'hex'));
  let smsc: string | undefined;
  if (opts.hasSmsc ?? true) {
    const smscLen = r.byte();
    if (smscLen > 0) {
      const toa = r.byte();
      const digits = semiOctets(r.bytes(smscLen - 1), (smscLen - 1) * 2);
      smsc = (toa & 0x70) === 0x10 ? `+${digits}` : digits;
    }
  }
  const fo = r.byte();
  const mti = fo & 0x03;
  const udhi = (fo & 0x40) !== 0;
  if (mti === 0) {
    const address = readAddress(r, true);
    r.byte(); // PID
    const dcs = r.byte();
    const timestamp = readTimestamp(r);
    return compact({ type: 'deliver', smsc, address, timestamp, ...readUserData(r, dcs, udhi) });
  }
  if (mti === 1) {
    r.byte(); // message reference
    const address = readAddress(r, true);
    r.byte(); // PID
    const dcs = r.byte();
    const vpf = (fo >> 3) & 0x03;
    if (vpf === 2) r.byte();
    else if (vpf === 1 || vpf === 3) r.bytes(7);
    return compact({ type: 'submit', smsc, address, ...readUserData(r, dcs, udhi) });
  }
  if (mti === 2) {
    r.byte(); // message reference
    const address = readAddress(r, true);
    return compact({ type: 'status-report', smsc, address, alphabet: 'gsm7', text: '' });
  }
  return compact({ type: 'unknown', smsc, address: '', alphabet: 'gsm7', text: '' });
}

function compact(d: DecodedPdu): DecodedPdu {
  for (const k of Object.keys(d) as (keyof DecodedPdu)[]) if (d[k] === undefined) delete d[k];
  return d;
}

function encodeAddress(number: string): number[] {
  const intl = number.startsWith('+');
  const digits = number.replace(/^\+/, '');
  if (!/^[0-9*#]+$/.test(digits)) throw new PduError(`not a phone number: "${number}"`);
  const map: Record<string, number> = { '*': 0x0a, '#': 0x0b };
  const out = [digits.length, intl ? 0x91 : 0x81];
  for (let i = 0; i < digits.length; i += 2) {
    const lo = map[digits[i]!] ?? Number(digits[i]);
    const hi = i + 1 < digits.length ? (map[digits[i + 1]!] ?? Number(digits[i + 1])) : 0x0f;
    out.push(lo | (hi << 4));
  }
  return out;
}

export interface SubmitPart {
  /** Hex of the whole PDU, starting with "00" (use the SMSC stored in the modem). */
  pdu: string;
  /** TPDU length in octets, the argument of AT+CMGS in PDU mode. */
  length: number;
}

/** Splits text into parts, never cutting a GSM escape pair or a UTF-16 surrogate pair. */
function splitUnits<T>(units: T[], max: number, isLead: (u: T) => boolean): T[][] {
  const parts: T[][] = [];
  let i = 0;
  while (i < units.length) {
    let end = Math.min(i + max, units.length);
    if (end < units.length && isLead(units[end - 1]!)) end--;
    parts.push(units.slice(i, end));
    i = end;
  }
  return parts;
}

/**
 * Encodes text as one or more SMS-SUBMIT PDUs: GSM 7-bit when every character is in the default alphabet,
 * else UCS2; more than one part carries a concatenation header with `ref`.
 */
export function encodeSubmit(to: string, text: string, ref = 0): SubmitPart[] {
  const septets = toSeptets(text);
  const address = encodeAddress(to);
  type Chunk = { ud: Buffer; udl: number };
  const chunks: Chunk[] = [];
  let dcs: number;
  if (septets) {
    dcs = 0x00;
    if (septets.length <= 160) chunks.push({ ud: packSeptets(septets), udl: septets.length });
    else {
      const parts = splitUnits(septets, 153, (s) => s === 0x1b);
      parts.forEach((p, i) => {
        const udh = [0x05, 0x00, 0x03, ref & 0xff, parts.length, i + 1];
        chunks.push({ ud: packSeptets(p, udh), udl: 7 + p.length });
      });
    }
  } else {
    dcs = 0x08;
    const units = Array.from({ length: text.length }, (_, i) => text.charCodeAt(i));
    const toBuf = (u: number[]) => Buffer.from(u.flatMap((c) => [c >> 8, c & 0xff]));
    if (units.length <= 70) chunks.push({ ud: toBuf(units), udl: units.length * 2 });
    else {
      const parts = splitUnits(units, 67, (c) => c >= 0xd800 && c <= 0xdbff);
      parts.forEach((p, i) => {
        const udh = Buffer.from([0x05, 0x00, 0x03, ref & 0xff, parts.length, i + 1]);
        const ud = Buffer.concat([udh, toBuf(p)]);
        chunks.push({ ud, udl: ud.length });
      });
    }
  }
  const multi = chunks.length > 1;
  return chunks.map(({ ud, udl }) => {
    // SMS-SUBMIT, relative validity period present, UDHI when multi-part.
    const fo = 0x11 | (multi ? 0x40 : 0);
    const tpdu = Buffer.from([fo, 0x00, ...address, 0x00, dcs, 0xa7, udl, ...ud]);
    return { pdu: '00' + tpdu.toString('hex').toUpperCase(), length: tpdu.length };
  });
}

/** GSM 7-bit packed hex, as Huawei modems want USSD strings. */
export function packGsm7Hex(text: string): string {
  const septets = toSeptets(text);
  if (!septets) throw new PduError(`not in the GSM alphabet: "${text}"`);
  return packSeptets(septets).toString('hex').toUpperCase();
}

export function unpackGsm7Hex(hex: string): string {
  const buf = Buffer.from(hex, 'hex');
  let count = Math.floor((buf.length * 8) / 7);
  const septets = unpackSeptets(buf, count);
  // A final zero septet in a whole octet is padding (23.038 §6.1.2.3.1 uses CR; many modems leave 0).
  if (count > 0 && (buf.length * 8) % 7 === 0 && (septets[count - 1] === 0 || septets[count - 1] === 0x0d)) count--;
  return fromSeptets(septets.slice(0, count));
}

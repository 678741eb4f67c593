// Pure parsers of AT replies and unsolicited lines (3GPP 27.007/27.005 plus Huawei and Quectel dialects).
import { cbsAlphabet, decodePdu, decodeUcs2, isHex, PduError, unpackGsm7Hex, type Concat } from './sms.pdu.js';

/** Splits the parameters of an AT line on commas outside double quotes; quotes are removed from each field. */
export function splitFields(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let wasQuoted = false;
  for (const ch of s) {
    if (ch === '"') { quoted = !quoted; wasQuoted = true; continue; }
    if (ch === ',' && !quoted) { out.push(wasQuoted ? cur : cur.trim()); cur = ''; wasQuoted = false; continue; }
    cur += ch;
  }
  out.push(wasQuoted ? cur : cur.trim());
  return out;
}

/** Fields after `PREFIX:` (e.g. "+CSQ"), or null when the line does not carry that prefix. */
export function fieldsOf(line: string, prefix: string): string[] | null {
  const p = prefix.endsWith(':') ? prefix : `${prefix}:`;
  if (!line.toUpperCase().startsWith(p.toUpperCase())) return null;
  return splitFields(line.slice(p.length).trim());
}

/** Whether the raw field of a line was quoted (the registration URC forms are told apart by it). */
function rawFields(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of s) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) { out.push(cur.trim()); cur = ''; continue; }
    cur += ch;
  }
  out.push(cur.trim());
  return out;
}

function num(s: string | undefined): number | undefined {
  if (s === undefined || s.trim() === '') return undefined;
  const n = Number(s.trim());
  return Number.isFinite(n) ? n : undefined;
}

function findLine(lines: readonly string[], prefix: string): string[] | null {
  for (const l of lines) {
    const f = fieldsOf(l, prefix);
    if (f) return f;
  }
  return null;
}

// ---------------------------------------------------------------- identity

/** A plain identity reply (CGMI/CGMM/CGMR), with an optional echoed "+CGMx:" prefix and quotes dropped. */
export function parseIdentityLine(lines: readonly string[], prefix?: string): string | undefined {
  for (const raw of lines) {
    let l = raw.trim();
    if (!l) continue;
    if (prefix && l.toUpperCase().startsWith(`${prefix.toUpperCase()}:`)) l = l.slice(prefix.length + 1).trim();
    else if (/^[+^][A-Z]+:/i.test(l)) continue;
    l = l.replace(/^"(.*)"$/, '$1');
    if (/^(manufacturer|model|revision):\s*/i.test(l)) l = l.replace(/^[a-z]+:\s*/i, '');
    if (l) return l;
  }
  return undefined;
}

/** IMEI from AT+CGSN (bare digits, or "+CGSN: "…"" on some firmware). */
export function parseImei(lines: readonly string[]): string | undefined {
  for (const l of lines) {
    const m = /(?:^|[^0-9])(\d{14,17})(?:$|[^0-9])/.exec(l);
    if (m) return m[1];
  }
  return undefined;
}

/** IMSI from AT+CIMI. */
export function parseImsi(lines: readonly string[]): string | undefined {
  for (const l of lines) {
    const m = /(?:^|[^0-9])(\d{6,15})(?:$|[^0-9])/.exec(l);
    if (m) return m[1];
  }
  return undefined;
}

/** Keeps the last four digits: IMEI, IMSI and phone numbers are never logged whole. */
export function maskId(id: string | undefined): string | undefined {
  if (!id) return id;
  if (id.length <= 4) return '*'.repeat(id.length);
  return '*'.repeat(id.length - 4) + id.slice(-4);
}

// ---------------------------------------------------------------- SIM

export type SimState = 'ready' | 'pin' | 'puk' | 'pin2' | 'puk2' | 'ph-sim-pin' | 'absent' | 'busy' | 'error' | 'unknown';

export function parseCpin(lines: readonly string[]): SimState | undefined {
  const f = findLine(lines, '+CPIN');
  if (!f) return undefined;
  return cpinCode(f[0] ?? '');
}

export function cpinCode(code: string): SimState {
  const c = code.trim().toUpperCase();
  if (c === 'READY') return 'ready';
  if (c === 'SIM PIN') return 'pin';
  if (c === 'SIM PUK') return 'puk';
  if (c === 'SIM PIN2') return 'pin2';
  if (c === 'SIM PUK2') return 'puk2';
  if (c === 'PH-SIM PIN') return 'ph-sim-pin';
  if (c === 'NOT INSERTED' || c === 'SIM REMOVED' || c === 'NOT READY') return c === 'NOT READY' ? 'busy' : 'absent';
  return 'unknown';
}

/** SIM state from a +CME ERROR code given to AT+CPIN? (10 not inserted, 13 failure, 14 busy, 11/12 PIN/PUK). */
export function simStateFromCme(code: number): SimState {
  switch (code) {
    case 10: return 'absent';
    case 11: return 'pin';
    case 12: return 'puk';
    case 14: return 'busy';
    case 13: case 15: return 'error';
    default: return 'unknown';
  }
}

export interface PinRetries {
  pin?: number;
  puk?: number;
}

/** Huawei `^CPIN: <code>,[<times>],<puk_times>,<pin_times>,<puk2_times>,<pin2_times>`. */
export function parseHuaweiCpin(lines: readonly string[]): PinRetries | undefined {
  const f = findLine(lines, '^CPIN');
  if (!f) return undefined;
  return { puk: num(f[2]), pin: num(f[3]) };
}

/** Quectel `+QPINC: "SC",<pin_counter>,<puk_counter>`. */
export function parseQuectelPinc(lines: readonly string[]): PinRetries | undefined {
  for (const l of lines) {
    const f = fieldsOf(l, '+QPINC');
    if (f && f[0] === 'SC') return { pin: num(f[1]), puk: num(f[2]) };
  }
  return undefined;
}

// ---------------------------------------------------------------- signal

export type Rat = 'lte' | 'umts' | 'gsm' | 'nr5g' | 'none' | 'unknown';

/** Signal as the modem reports it, in physical units; absent fields are unknown. */
export interface ModemSignal {
  rat: Rat;
  rssiDbm?: number;
  rsrpDbm?: number;
  rsrqDb?: number;
  sinrDb?: number;
  rscpDbm?: number;
  ecioDb?: number;
  /** The raw 0..31 CSQ value when known. */
  csq?: number;
}

/** +CSQ: <rssi>,<ber>; 0 is -113 dBm or less, 31 is -51 dBm or more, 99 is unknown. */
export function csqToDbm(csq: number): number | undefined {
  if (!Number.isInteger(csq) || csq < 0 || csq > 31) return undefined;
  return -113 + 2 * csq;
}

export function parseCsq(lines: readonly string[]): ModemSignal | undefined {
  const f = findLine(lines, '+CSQ');
  if (!f) return undefined;
  const csq = num(f[0]);
  if (csq === undefined) return undefined;
  const rssiDbm = csqToDbm(csq);
  return rssiDbm === undefined ? { rat: 'unknown' } : { rat: 'unknown', rssiDbm, csq };
}

function scale(v: number | undefined, max: number, f: (n: number) => number): number | undefined {
  if (v === undefined || v < 0 || v > max) return undefined;
  return Math.round(f(v) * 10) / 10;
}

/** +CESQ: <rxlev>,<ber>,<rscp>,<ecno>,<rsrq>,<rsrp> (27.007 §8.69); 99/255 unknown. */
export function parseCesq(lines: readonly string[]): ModemSignal | undefined {
  const f = findLine(lines, '+CESQ');
  if (!f || f.length < 6) return undefined;
  const [rxlev, , rscp, ecno, rsrq, rsrp] = f.map(num);
  const s: ModemSignal = { rat: 'unknown' };
  const rsrpDbm = scale(rsrp, 97, (n) => -141 + n);
  const rsrqDb = scale(rsrq, 34, (n) => -20 + n * 0.5);
  const rscpDbm = scale(rscp, 96, (n) => -121 + n);
  const ecioDb = scale(ecno, 49, (n) => -24.5 + n * 0.5);
  const rssiDbm = scale(rxlev, 63, (n) => -111 + n);
  if (rsrpDbm !== undefined) Object.assign(s, { rat: 'lte', rsrpDbm, rsrqDb });
  else if (rscpDbm !== undefined) Object.assign(s, { rat: 'umts', rscpDbm, ecioDb });
  else if (rssiDbm !== undefined) Object.assign(s, { rat: 'gsm', rssiDbm });
  else s.rat = 'none';
  for (const k of Object.keys(s) as (keyof ModemSignal)[]) if (s[k] === undefined) delete s[k];
  return s;
}

/** Huawei ^HCSQ: "<sysmode>",<v1>,<v2>,<v3>,<v4> (reply or URC); 255 is unknown. */
export function parseHcsq(lineOrLines: string | readonly string[]): ModemSignal | undefined {
  const f = findLine(typeof lineOrLines === 'string' ? [lineOrLines] : lineOrLines, '^HCSQ');
  if (!f) return undefined;
  const mode = (f[0] ?? '').toUpperCase();
  const v = f.slice(1).map(num);
  const s: ModemSignal = { rat: 'unknown' };
  const rssi = (n: number | undefined) => scale(n, 96, (x) => -121 + x);
  if (mode === 'LTE') {
    Object.assign(s, {
      rat: 'lte',
      rssiDbm: rssi(v[0]),
      rsrpDbm: scale(v[1], 97, (x) => -141 + x),
      sinrDb: scale(v[2], 251, (x) => -20.2 + x * 0.2),
      rsrqDb: scale(v[3], 34, (x) => -20 + x * 0.5),
    });
  } else if (mode === 'WCDMA' || mode === 'TD-SCDMA') {
    Object.assign(s, { rat: 'umts', rssiDbm: rssi(v[0]), rscpDbm: scale(v[1], 96, (x) => -121 + x), ecioDb: scale(v[2], 65, (x) => -32.5 + x * 0.5) });
  } else if (mode === 'GSM') {
    Object.assign(s, { rat: 'gsm', rssiDbm: rssi(v[0]) });
  } else if (mode === 'NOSERVICE') {
    s.rat = 'none';
  }
  for (const k of Object.keys(s) as (keyof ModemSignal)[]) if (s[k] === undefined) delete s[k];
  return s;
}

/** Quectel +QCSQ: "<sysmode>",<rssi>,<rsrp>,<sinr>,<rsrq> in dBm, SINR as 0..250 for -20..30 dB. */
export function parseQcsq(lines: readonly string[]): ModemSignal | undefined {
  const f = findLine(lines, '+QCSQ');
  if (!f) return undefined;
  const mode = (f[0] ?? '').toUpperCase();
  const v = f.slice(1).map(num);
  if (mode === 'LTE') {
    const s: ModemSignal = { rat: 'lte', rssiDbm: v[0], rsrpDbm: v[1], rsrqDb: v[3] };
    if (v[2] !== undefined) s.sinrDb = Math.round((v[2] / 5 - 20) * 10) / 10;
    for (const k of Object.keys(s) as (keyof ModemSignal)[]) if (s[k] === undefined) delete s[k];
    return s;
  }
  if (mode === 'WCDMA') return { rat: 'umts', rssiDbm: v[0], rscpDbm: v[1], ecioDb: v[2] };
  if (mode === 'GSM') return { rat: 'gsm', rssiDbm: v[0] };
  if (mode === 'NOSERVICE') return { rat: 'none' };
  return { rat: 'unknown' };
}

/** Huawei ^RSSI: <csq> and Quectel +QIND: "csq",<rssi>,<ber> URCs. */
export function parseRssiUrc(line: string): ModemSignal | undefined {
  const h = fieldsOf(line, '^RSSI');
  if (h) {
    const d = csqToDbm(num(h[0]) ?? 99);
    return d === undefined ? { rat: 'unknown' } : { rat: 'unknown', rssiDbm: d, csq: num(h[0]) };
  }
  const q = fieldsOf(line, '+QIND');
  if (q && q[0]?.toLowerCase() === 'csq') {
    const d = csqToDbm(num(q[1]) ?? 99);
    return d === undefined ? { rat: 'unknown' } : { rat: 'unknown', rssiDbm: d, csq: num(q[1]) };
  }
  return undefined;
}

// ---------------------------------------------------------------- registration

export type RegState =
  | 'not-registered' | 'home' | 'searching' | 'denied' | 'unknown' | 'roaming'
  | 'sms-only-home' | 'sms-only-roaming' | 'emergency-only';

const REG_STATES: RegState[] = [
  'not-registered', 'home', 'searching', 'denied', 'unknown', 'roaming', 'sms-only-home', 'sms-only-roaming', 'emergency-only',
  'home', 'roaming', // 9, 10: CSFB not preferred
];

export type RegDomain = 'cs' | 'gprs' | 'eps';

export interface Registration {
  domain: RegDomain;
  state: RegState;
  /** LAC or TAC, hex as the modem gives it. */
  area?: string;
  cellId?: string;
  act?: number;
  rat?: Rat;
}

export function actToRat(act: number | undefined): Rat | undefined {
  if (act === undefined) return undefined;
  if (act === 0 || act === 1 || act === 3) return 'gsm';
  if (act === 2 || (act >= 4 && act <= 6)) return 'umts';
  if (act === 7 || act === 9 || act === 10) return 'lte';
  if (act === 11 || act === 12 || act === 13) return 'nr5g';
  return 'unknown';
}

const REG_PREFIX: Record<RegDomain, string> = { cs: '+CREG', gprs: '+CGREG', eps: '+CEREG' };

export function regDomainOf(line: string): RegDomain | undefined {
  const u = line.toUpperCase();
  if (u.startsWith('+CREG:')) return 'cs';
  if (u.startsWith('+CGREG:')) return 'gprs';
  if (u.startsWith('+CEREG:')) return 'eps';
  return undefined;
}

/**
 * True when a +CREG/+CGREG/+CEREG line is the unsolicited form `<stat>[,<lac>,<ci>[,<act>]]` rather than the
 * reply to a query `<n>,<stat>[,…]`: the URC has one field or a quoted second field.
 */
export function isRegistrationUrc(line: string): boolean {
  const i = line.indexOf(':');
  if (i < 0) return false;
  const f = rawFields(line.slice(i + 1).trim());
  if (f.length === 1) return true;
  return f[1]!.startsWith('"');
}

/** Parses either form of a registration line. */
export function parseRegistrationLine(line: string): Registration | undefined {
  const domain = regDomainOf(line);
  if (!domain) return undefined;
  const f = fieldsOf(line, REG_PREFIX[domain])!;
  const rest = isRegistrationUrc(line) ? f : f.slice(1);
  const stat = num(rest[0]);
  if (stat === undefined) return undefined;
  const r: Registration = { domain, state: REG_STATES[stat] ?? 'unknown' };
  if (rest[1]) r.area = rest[1].toUpperCase();
  if (rest[2]) r.cellId = rest[2].toUpperCase();
  const act = num(rest[3]);
  if (act !== undefined) { r.act = act; r.rat = actToRat(act); }
  return r;
}

export function parseRegistration(lines: readonly string[], domain: RegDomain): Registration | undefined {
  for (const l of lines) if (regDomainOf(l) === domain) return parseRegistrationLine(l);
  return undefined;
}

export function isRegistered(s: RegState | undefined): boolean {
  return s === 'home' || s === 'roaming';
}

// ---------------------------------------------------------------- operator

export interface Operator {
  mode: number;
  name?: string;
  /** MCC+MNC when the modem gave the numeric format. */
  numeric?: string;
  act?: number;
  rat?: Rat;
}

/** +COPS: <mode>[,<format>,<oper>[,<act>]]. */
export function parseCops(lines: readonly string[]): Operator | undefined {
  const f = findLine(lines, '+COPS');
  if (!f) return undefined;
  const mode = num(f[0]);
  if (mode === undefined) return undefined;
  const op: Operator = { mode };
  const format = num(f[1]);
  const oper = f[2];
  if (oper) {
    if (format === 2 || /^\d{5,6}$/.test(oper)) op.numeric = oper;
    else op.name = oper;
  }
  const act = num(f[3]);
  if (act !== undefined) { op.act = act; op.rat = actToRat(act); }
  return op;
}

// ---------------------------------------------------------------- addresses and bearer

/** Dotted 4- or 16-octet addresses as 27.007 prints them; IPv6 converted to its usual text. */
export function dottedToIp(s: string): string | undefined {
  const t = s.trim();
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(t)) return t.split('.').every((o) => Number(o) <= 255) ? t : undefined;
  if (/^\d{1,3}(\.\d{1,3}){15}$/.test(t)) {
    const b = t.split('.').map(Number);
    if (b.some((o) => o > 255)) return undefined;
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
    return compressIpv6(groups);
  }
  if (/^[0-9a-f:]+$/i.test(t) && t.includes(':')) return t.toLowerCase();
  return undefined;
}

function compressIpv6(groups: string[]): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export interface PdpAddress {
  cid: number;
  ipv4?: string;
  ipv6?: string;
}

/** +CGPADDR: <cid>[,<addr1>[,<addr2>]]; "0.0.0.0" counts as no address. */
export function parseCgpaddr(lines: readonly string[]): PdpAddress[] {
  const out: PdpAddress[] = [];
  for (const l of lines) {
    const f = fieldsOf(l, '+CGPADDR');
    if (!f) continue;
    const cid = num(f[0]);
    if (cid === undefined) continue;
    const a: PdpAddress = { cid };
    for (const raw of f.slice(1)) {
      const ip = dottedToIp(raw);
      if (!ip || ip === '0.0.0.0' || ip === '::') continue;
      if (ip.includes(':')) a.ipv6 = ip;
      else a.ipv4 = ip;
    }
    out.push(a);
  }
  return out;
}

/** A 32-bit little-endian hex word of Huawei's ^DHCP to a dotted address: "0a1b6f4a" is 74.111.27.10. */
export function hexLeToIp(hex: string): string | undefined {
  if (!/^[0-9a-f]{1,8}$/i.test(hex)) return undefined;
  const n = parseInt(hex, 16) >>> 0;
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join('.');
}

export interface DhcpInfo {
  address: string;
  netmask: string;
  gateway: string;
  dhcpServer?: string;
  dns: string[];
  /** Link rates the modem reports, bit/s. */
  rxBps?: number;
  txBps?: number;
}

export function prefixLength(netmask: string): number {
  return netmask.split('.').reduce((n, o) => n + (Number(o) >>> 0).toString(2).replace(/0/g, '').length, 0);
}

/** Huawei ^DHCP: <clip>,<netmask>,<gate>,<dhcp>,<pDNS>,<sDNS>,<max_rx>,<max_tx>; all addresses hex little-endian. */
export function parseHuaweiDhcp(lines: readonly string[]): DhcpInfo | undefined {
  const f = findLine(lines, '^DHCP');
  if (!f || f.length < 3) return undefined;
  const [address, netmask, gateway, dhcpServer, dns1, dns2] = f.slice(0, 6).map((h) => (h ? hexLeToIp(h) : undefined));
  if (!address || !netmask || !gateway || address === '0.0.0.0') return undefined;
  const info: DhcpInfo = { address, netmask, gateway, dns: [dns1, dns2].filter((d): d is string => !!d && d !== '0.0.0.0') };
  if (dhcpServer) info.dhcpServer = dhcpServer;
  const rx = num(f[6]);
  const tx = num(f[7]);
  if (rx !== undefined) info.rxBps = rx;
  if (tx !== undefined) info.txBps = tx;
  return info;
}

export interface NdisStat {
  connected: boolean;
  /** 0 disconnected, 1 connected, 2 connecting, 3 disconnecting. */
  stat: number;
  error?: number;
  pdpType?: string;
}

/** Huawei ^NDISSTAT: <stat>,[<err>],[<wx>],"<PDP type>" (URC) or ^NDISSTATQRY: … (reply; IPv4 part first). */
export function parseNdisStat(line: string): NdisStat | undefined {
  const f = fieldsOf(line, '^NDISSTATQRY') ?? fieldsOf(line, '^NDISSTAT');
  if (!f) return undefined;
  const stat = num(f[0]);
  if (stat === undefined) return undefined;
  const s: NdisStat = { stat, connected: stat === 1 };
  const err = num(f[1]);
  if (err !== undefined) s.error = err;
  if (f[3]) s.pdpType = f[3].toUpperCase();
  return s;
}

/** +CGACT: <cid>,<state> lines. */
export function parseCgact(lines: readonly string[]): Map<number, boolean> {
  const m = new Map<number, boolean>();
  for (const l of lines) {
    const f = fieldsOf(l, '+CGACT');
    const cid = num(f?.[0]);
    if (f && cid !== undefined) m.set(cid, num(f[1]) === 1);
  }
  return m;
}

/** +CGEV URCs that tell a PDP context went down or up. */
export function parseCgev(line: string): { up: boolean; cid?: number } | undefined {
  const u = line.toUpperCase();
  if (!u.startsWith('+CGEV:')) return undefined;
  const m = /(\d+)\s*$/.exec(u);
  const cid = m ? Number(m[1]) : undefined;
  if (/DEACT|DETACH/.test(u)) return { up: false, cid };
  if (/\bACT\b/.test(u)) return { up: true, cid };
  return undefined;
}

// ---------------------------------------------------------------- USSD

export interface UssdReply {
  /** 0 done, 1 further action required, 2 terminated by network, 3 other client, 4 not supported, 5 timed out. */
  status: number;
  text?: string;
  dcs?: number;
}

/**
 * +CUSD: <m>[,<str>,<dcs>]. UCS2 strings come as hex; `packed` says the modem gives GSM 7-bit strings as
 * packed hex (Huawei's habit), which is then unpacked.
 */
export function parseCusd(line: string, opts: { packed?: boolean } = {}): UssdReply | undefined {
  const f = fieldsOf(line, '+CUSD');
  if (!f) return undefined;
  const status = num(f[0]);
  if (status === undefined) return undefined;
  const r: UssdReply = { status };
  const dcs = num(f[2]);
  if (dcs !== undefined) r.dcs = dcs;
  if (f[1] !== undefined && f.length > 1) {
    const raw = f[1];
    const alpha = cbsAlphabet(dcs ?? 15);
    if (alpha === 'ucs2' && isHex(raw) && raw.length % 4 === 0) r.text = decodeUcs2(Buffer.from(raw, 'hex'));
    else if (alpha === 'gsm7' && opts.packed && isHex(raw) && raw.length > 0) r.text = unpackGsm7Hex(raw);
    else r.text = raw;
  }
  return r;
}

// ---------------------------------------------------------------- SMS listing

export type SmsStatus = 'unread' | 'read' | 'unsent' | 'sent' | 'all';

const STAT_TEXT: Record<string, SmsStatus> = { 'REC UNREAD': 'unread', 'REC READ': 'read', 'STO UNSENT': 'unsent', 'STO SENT': 'sent', ALL: 'all' };
const STAT_PDU: SmsStatus[] = ['unread', 'read', 'unsent', 'sent', 'all'];

/** One stored message (or one part of a multi-part message). */
export interface SmsEntry {
  index: number;
  status: SmsStatus;
  /** Sender for received messages, recipient for stored outgoing ones. */
  address: string;
  text: string;
  timestamp?: string;
  concat?: Concat;
  /** Set when the entry could not be decoded; the text is then empty. */
  error?: string;
}

/** "24/11/21,08:00:00+04" (quarter hours) to ISO 8601. */
export function parseTextTimestamp(s: string | undefined): string | undefined {
  const m = /^(\d{2})\/(\d{2})\/(\d{2}),(\d{2}):(\d{2}):(\d{2})([+-]\d+)?$/.exec((s ?? '').trim());
  if (!m) return undefined;
  const q = Number(m[7] ?? 0);
  const min = Math.abs(q) * 15;
  const p = (n: number) => String(n).padStart(2, '0');
  return `20${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${q < 0 ? '-' : '+'}${p(Math.floor(min / 60))}:${p(min % 60)}`;
}

function decodeTextModeField(s: string, ucs2: boolean): string {
  return ucs2 && isHex(s) && s.length % 4 === 0 ? decodeUcs2(Buffer.from(s, 'hex')) : s;
}

/**
 * Parses the info lines of AT+CMGL or AT+CMGR, in PDU mode (header then hex line) or text mode (header then
 * body lines). `index` is used for CMGR, whose header has none. In text mode with the UCS2 character set,
 * pass `ucs2` so that hex bodies and numbers are decoded.
 */
export function parseSmsList(lines: readonly string[], opts: { mode: 'pdu' | 'text'; ucs2?: boolean; index?: number } = { mode: 'pdu' }): SmsEntry[] {
  const out: SmsEntry[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const isList = fieldsOf(line, '+CMGL');
    const isRead = isList ? null : fieldsOf(line, '+CMGR');
    const f = isList ?? isRead;
    if (!f) { i++; continue; }
    const body: string[] = [];
    i++;
    while (i < lines.length && !fieldsOf(lines[i]!, '+CMGL') && !fieldsOf(lines[i]!, '+CMGR')) body.push(lines[i++]!);
    const index = isList ? (num(f[0]) ?? -1) : (opts.index ?? -1);
    const h = isList ? f.slice(1) : f;
    if (opts.mode === 'pdu') {
      const stat = STAT_PDU[num(h[0]) ?? 0] ?? 'unread';
      const pduLine = body.find((b) => isHex(b.trim()) && b.trim().length > 0);
      if (!pduLine) { out.push({ index, status: stat, address: '', text: '', error: 'no PDU line' }); continue; }
      try {
        const d = decodePdu(pduLine);
        const e: SmsEntry = { index, status: stat, address: d.address, text: d.text };
        if (d.timestamp) e.timestamp = d.timestamp;
        if (d.concat) e.concat = d.concat;
        out.push(e);
      } catch (err) {
        out.push({ index, status: stat, address: '', text: '', error: err instanceof PduError ? err.message : String(err) });
      }
    } else {
      const stat = STAT_TEXT[(h[0] ?? '').toUpperCase()] ?? 'unread';
      const e: SmsEntry = {
        index,
        status: stat,
        address: decodeTextModeField(h[1] ?? '', !!opts.ucs2),
        text: body.map((b) => decodeTextModeField(b, !!opts.ucs2)).join('\n'),
      };
      const ts = parseTextTimestamp(h[3]);
      if (ts) e.timestamp = ts;
      out.push(e);
    }
  }
  return out;
}

/** +CMTI: "<mem>",<index>. */
export function parseCmti(line: string): { storage: string; index: number } | undefined {
  const f = fieldsOf(line, '+CMTI');
  const index = num(f?.[1]);
  if (!f || index === undefined) return undefined;
  return { storage: f[0] ?? 'SM', index };
}

/** +CMGS: <mr>. */
export function parseCmgs(lines: readonly string[]): number | undefined {
  return num(findLine(lines, '+CMGS')?.[0]);
}

/** +CGCONTRDP: <cid>,<bearer>,<apn>[,<local_addr and subnet_mask>[,<gw_addr>[,<DNS_prim>[,<DNS_sec>]]]]. */
export function parseCgcontrdp(lines: readonly string[]): { address?: string; prefixLength?: number; gateway?: string; dns: string[] } | undefined {
  const f = findLine(lines, '+CGCONTRDP');
  if (!f) return undefined;
  const out: { address?: string; prefixLength?: number; gateway?: string; dns: string[] } = { dns: [] };
  const am = (f[3] ?? '').split('.');
  if (am.length === 8) {
    out.address = am.slice(0, 4).join('.');
    out.prefixLength = prefixLength(am.slice(4).join('.'));
  } else if (dottedToIp(f[3] ?? '')) out.address = dottedToIp(f[3]!);
  const gw = dottedToIp(f[4] ?? '');
  if (gw && gw !== '0.0.0.0') out.gateway = gw;
  for (const d of [f[5], f[6]]) {
    const ip = dottedToIp(d ?? '');
    if (ip && ip !== '0.0.0.0') out.dns.push(ip);
  }
  return out;
}

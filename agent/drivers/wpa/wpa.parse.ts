// Pure parsers (and the few encoders) of wpa_supplicant 2.10's control-interface text: replies and event lines.
import type { RadioState, ScanEntry } from '../radio.js';

/*
 * Formats, as wpa_supplicant 2.10 writes them (wpa_supplicant/ctrl_iface.c, events.c):
 *   SCAN_RESULTS   "bssid / frequency / signal level / flags / ssid\n" then per BSS
 *                  "02:00:00:00:01:00\t2412\t-48\t[WPA2-PSK-CCMP][ESS]\tdepot\n"
 *   STATUS         "key=value\n" lines: bssid, freq, ssid, id, mode, pairwise_cipher, key_mgmt, wpa_state, address…
 *   SIGNAL_POLL    "RSSI=-52\nLINKSPEED=65\nNOISE=9999\nFREQUENCY=2412\n" [WIDTH=20 MHz, CENTER_FRQ1=, AVG_RSSI=…]; FAIL when
 *                  not associated
 *   LIST_NETWORKS  "network id / ssid / bssid / flags\n" then "0\tdepot\tany\t[CURRENT]\n"
 *   events         "<3>CTRL-EVENT-CONNECTED - Connection to 02:00:00:00:01:00 completed [id=0 id_str=]"
 *                  "<3>CTRL-EVENT-DISCONNECTED bssid=02:00:00:00:01:00 reason=3 locally_generated=1"
 *                  "<3>CTRL-EVENT-SCAN-RESULTS " (note the trailing space), "<3>CTRL-EVENT-SCAN-STARTED "
 *                  "<3>CTRL-EVENT-SSID-TEMP-DISABLED id=0 ssid=\"depot\" auth_failures=1 duration=10 reason=WRONG_KEY"
 * SSIDs in replies and events are printf-encoded (wpa_ssid_txt): \\ \" \e \n \r \t and \xHH for other bytes.
 */

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const EVENT_RE = /^<(\d+)>/;

export function isMac(s: string): boolean {
  return MAC_RE.test(s);
}

/** An unsolicited message (event) starts with a `<N>` priority; a reply never does. */
export function isEventMessage(msg: string): boolean {
  return EVENT_RE.test(msg);
}

/** Decodes wpa_supplicant's printf-encoded SSID text into the SSID (bytes read as UTF-8). */
export function decodeSsid(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      const n = text[i + 1]!;
      const simple: Record<string, number> = { '\\': 0x5c, '"': 0x22, e: 0x1b, n: 0x0a, r: 0x0d, t: 0x09 };
      if (n in simple) {
        bytes.push(simple[n]!);
        i++;
        continue;
      }
      if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
        bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
        i += 3;
        continue;
      }
    }
    for (const b of Buffer.from(c, 'utf8')) bytes.push(b);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The inverse of decodeSsid: how wpa_supplicant shows an SSID (printf_encode of its bytes). */
export function encodeSsidText(ssid: string): string {
  let out = '';
  for (const b of Buffer.from(ssid, 'utf8')) {
    if (b === 0x5c) out += '\\\\';
    else if (b === 0x22) out += '\\"';
    else if (b === 0x1b) out += '\\e';
    else if (b === 0x0a) out += '\\n';
    else if (b === 0x0d) out += '\\r';
    else if (b === 0x09) out += '\\t';
    else if (b >= 0x20 && b <= 0x7e) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/**
 * The value for `SET_NETWORK <id> ssid`: quoted when it is printable ASCII (readable in logs), else hex of its
 * bytes, which wpa_supplicant takes for any SSID.
 */
export function ssidArg(ssid: string): string {
  return /^[\x20-\x7e]*$/.test(ssid) ? `"${ssid}"` : Buffer.from(ssid, 'utf8').toString('hex');
}

function lines(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.length > 0);
}

export class WpaParseError extends Error {
  constructor(what: string, text: string) {
    super(`unexpected ${what} reply: ${JSON.stringify(text.slice(0, 120))}`);
    this.name = 'WpaParseError';
  }
}

/** SCAN_RESULTS. BSSIDs come out lower-case. Lines that do not parse are skipped (a reply can be cut at its end). */
export function parseScanResults(text: string): ScanEntry[] {
  const ls = lines(text);
  if (ls.length === 0 || !ls[0]!.startsWith('bssid / frequency')) throw new WpaParseError('SCAN_RESULTS', text);
  const out: ScanEntry[] = [];
  for (const l of ls.slice(1)) {
    const f = l.split('\t');
    if (f.length < 4) continue;
    const [bssid, freq, signal, flags] = f as [string, string, string, string];
    // An SSID holds no raw tab (it would be \t), but keep anything after the 4th tab as the SSID regardless.
    const ssid = f.slice(4).join('\t');
    if (!isMac(bssid) || !/^\d+$/.test(freq) || !/^-?\d+$/.test(signal)) continue;
    out.push({ bssid: bssid.toLowerCase(), ssid: decodeSsid(ssid), signal: Number(signal), freq: Number(freq), flags });
  }
  return out;
}

export interface WpaStatus {
  state: RadioState;
  bssid?: string;
  ssid?: string;
  freq?: number;
  /** The network id in use. */
  id?: number;
  key_mgmt?: string;
  ip_address?: string;
  /** The radio's own MAC. */
  address?: string;
  /** Every key=value of the reply, as written. */
  raw: Record<string, string>;
}

const STATES: readonly RadioState[] = ['DISCONNECTED', 'INACTIVE', 'SCANNING', 'AUTHENTICATING', 'ASSOCIATING', 'ASSOCIATED', '4WAY_HANDSHAKE', 'GROUP_HANDSHAKE', 'COMPLETED', 'INTERFACE_DISABLED', 'UNKNOWN'];

function keyValues(text: string): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const l of lines(text)) {
    const eq = l.indexOf('=');
    if (eq > 0) raw[l.slice(0, eq)] = l.slice(eq + 1);
  }
  return raw;
}

/** STATUS. */
export function parseStatus(text: string): WpaStatus {
  const raw = keyValues(text);
  if (raw.wpa_state === undefined) throw new WpaParseError('STATUS', text);
  const state = (STATES as readonly string[]).includes(raw.wpa_state) ? (raw.wpa_state as RadioState) : 'UNKNOWN';
  const st: WpaStatus = { state, raw };
  if (raw.bssid !== undefined && isMac(raw.bssid)) st.bssid = raw.bssid.toLowerCase();
  if (raw.ssid !== undefined) st.ssid = decodeSsid(raw.ssid);
  if (raw.freq !== undefined && /^\d+$/.test(raw.freq)) st.freq = Number(raw.freq);
  if (raw.id !== undefined && /^\d+$/.test(raw.id)) st.id = Number(raw.id);
  if (raw.key_mgmt !== undefined) st.key_mgmt = raw.key_mgmt;
  if (raw.ip_address !== undefined) st.ip_address = raw.ip_address;
  if (raw.address !== undefined) st.address = raw.address.toLowerCase();
  return st;
}

export interface SignalPoll {
  /** dBm. */
  rssi: number;
  /** Mbit/s. */
  linkspeed?: number;
  /** dBm; 9999 (unknown) comes out as undefined. */
  noise?: number;
  frequency?: number;
  avg_rssi?: number;
}

/** SIGNAL_POLL: null for FAIL (not associated). */
export function parseSignalPoll(text: string): SignalPoll | null {
  if (text.trim() === 'FAIL') return null;
  const raw = keyValues(text);
  const num = (k: string) => (raw[k] !== undefined && /^-?\d+$/.test(raw[k]!) ? Number(raw[k]) : undefined);
  const rssi = num('RSSI');
  if (rssi === undefined) throw new WpaParseError('SIGNAL_POLL', text);
  const out: SignalPoll = { rssi };
  const linkspeed = num('LINKSPEED');
  const noise = num('NOISE');
  const frequency = num('FREQUENCY');
  const avg = num('AVG_RSSI');
  if (linkspeed !== undefined) out.linkspeed = linkspeed;
  if (noise !== undefined && noise !== 9999) out.noise = noise;
  if (frequency !== undefined) out.frequency = frequency;
  if (avg !== undefined) out.avg_rssi = avg;
  return out;
}

export interface WpaNetwork {
  id: number;
  ssid: string;
  /** null for "any". */
  bssid: string | null;
  /** e.g. ["CURRENT"], ["DISABLED"], ["TEMP-DISABLED"]. */
  flags: string[];
}

/** LIST_NETWORKS. */
export function parseListNetworks(text: string): WpaNetwork[] {
  const ls = lines(text);
  if (ls.length === 0 || !ls[0]!.startsWith('network id / ssid')) throw new WpaParseError('LIST_NETWORKS', text);
  const out: WpaNetwork[] = [];
  for (const l of ls.slice(1)) {
    const f = l.split('\t');
    if (f.length < 3 || !/^\d+$/.test(f[0]!)) continue;
    const bssid = f[2]!;
    out.push({
      id: Number(f[0]),
      ssid: decodeSsid(f[1]!),
      bssid: isMac(bssid) ? bssid.toLowerCase() : null,
      flags: (f[3] ?? '').match(/\[[^\]]*\]/g)?.map((x) => x.slice(1, -1)) ?? [],
    });
  }
  return out;
}

export type WpaEvent =
  | { kind: 'connected'; priority: number; bssid: string; id?: number; raw: string }
  | { kind: 'disconnected'; priority: number; bssid?: string; reason?: number; locally_generated: boolean; raw: string }
  | { kind: 'scan-started'; priority: number; raw: string }
  | { kind: 'scan-results'; priority: number; raw: string }
  | { kind: 'scan-failed'; priority: number; ret?: number; raw: string }
  | { kind: 'ssid-temp-disabled'; priority: number; id: number; ssid: string; auth_failures: number; duration: number; reason: string; raw: string }
  | { kind: 'ssid-reenabled'; priority: number; id: number; ssid: string; raw: string }
  | { kind: 'assoc-reject'; priority: number; bssid?: string; status_code?: number; raw: string }
  | { kind: 'network-not-found'; priority: number; raw: string }
  | { kind: 'terminating'; priority: number; raw: string }
  | { kind: 'other'; priority: number; name: string; raw: string };

/** `key=value` pairs of an event's text; a value may be a "quoted" printf-encoded string. */
function eventParams(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-z_]+)=("((?:[^"\\]|\\.)*)"|\S*)/g;
  for (let m; (m = re.exec(text)); ) out[m[1]!] = m[3] !== undefined ? decodeSsid(m[3]) : m[2]!;
  return out;
}

/** One event message ("<3>CTRL-EVENT-…"); null when the text is not an event (no `<N>` prefix). */
export function parseEvent(message: string): WpaEvent | null {
  const m = EVENT_RE.exec(message);
  if (!m) return null;
  const priority = Number(m[1]);
  const raw = message.replace(/\n$/, '');
  const body = raw.slice(m[0].length);
  const name = body.split(' ', 1)[0]!;
  const p = eventParams(body.slice(name.length));
  const int = (k: string) => (p[k] !== undefined && /^-?\d+$/.test(p[k]!) ? Number(p[k]) : undefined);
  switch (name) {
    case 'CTRL-EVENT-CONNECTED': {
      const c = /Connection to ([0-9a-fA-F:]{17}) completed/.exec(body);
      if (!c) break;
      const ev: WpaEvent = { kind: 'connected', priority, bssid: c[1]!.toLowerCase(), raw };
      const id = /\[id=(\d+)/.exec(body);
      if (id) ev.id = Number(id[1]);
      return ev;
    }
    case 'CTRL-EVENT-DISCONNECTED': {
      const ev: WpaEvent = { kind: 'disconnected', priority, locally_generated: p.locally_generated === '1', raw };
      if (p.bssid && isMac(p.bssid)) ev.bssid = p.bssid.toLowerCase();
      const reason = int('reason');
      if (reason !== undefined) ev.reason = reason;
      return ev;
    }
    case 'CTRL-EVENT-SCAN-STARTED':
      return { kind: 'scan-started', priority, raw };
    case 'CTRL-EVENT-SCAN-RESULTS':
      return { kind: 'scan-results', priority, raw };
    case 'CTRL-EVENT-SCAN-FAILED': {
      const ev: WpaEvent = { kind: 'scan-failed', priority, raw };
      const ret = int('ret');
      if (ret !== undefined) ev.ret = ret;
      return ev;
    }
    case 'CTRL-EVENT-SSID-TEMP-DISABLED':
      return {
        kind: 'ssid-temp-disabled', priority, id: int('id') ?? -1, ssid: p.ssid ?? '', auth_failures: int('auth_failures') ?? 0,
        duration: int('duration') ?? 0, reason: p.reason ?? '', raw,
      };
    case 'CTRL-EVENT-SSID-REENABLED':
      return { kind: 'ssid-reenabled', priority, id: int('id') ?? -1, ssid: p.ssid ?? '', raw };
    case 'CTRL-EVENT-ASSOC-REJECT': {
      const ev: WpaEvent = { kind: 'assoc-reject', priority, raw };
      if (p.bssid && isMac(p.bssid)) ev.bssid = p.bssid.toLowerCase();
      const status = int('status_code');
      if (status !== undefined) ev.status_code = status;
      return ev;
    }
    case 'CTRL-EVENT-NETWORK-NOT-FOUND':
      return { kind: 'network-not-found', priority, raw };
    case 'CTRL-EVENT-TERMINATING':
      return { kind: 'terminating', priority, raw };
  }
  return { kind: 'other', priority, name, raw };
}

// The lab modem's state and AT command set, without I/O: a command line in, reply lines out, URCs through a callback.
import { decodePdu, packGsm7Hex, unpackGsm7Hex, encodeUcs2, toSeptets } from '../../agent/drivers/modem/sms.pdu.js';
import { encodeDeliver } from './sms.deliver.js';
import type { VendorProfile } from './modem.profiles.js';

export interface Reply {
  info: string[];
  final: string;
  /** The modem shows "> " and waits for a payload ended by Ctrl-Z (AT+CMGS). */
  prompt?: (payload: string) => Reply;
  /** Runs once the reply is written (e.g. a reset that makes the device vanish). */
  after?: () => void;
}

export interface LteSignal {
  /** RSRP dBm; below `noServiceBelow` the modem loses service. */
  rsrp: number;
  rsrq?: number;
  sinr?: number;
}

export interface BearerAddressV4 {
  ipv4: string;
  prefixLength: number;
  gateway: string;
  dns: string[];
}

export interface SimConfig {
  present: boolean;
  /** PIN the SIM wants at power-up; none means no PIN lock. */
  pin?: string;
  puk?: string;
  pinRetries: number;
  pukRetries: number;
}

export interface SentSms {
  to: string;
  text: string;
  parts: number;
}

export type ModemChange =
  | { type: 'bearer'; up: boolean; address?: BearerAddressV4 }
  | { type: 'registration'; registered: boolean }
  | { type: 'sms-sent'; sms: SentSms };

type RegStat = 0 | 1 | 2 | 3 | 5;

const CME: Record<number, string> = {
  3: 'operation not allowed', 4: 'operation not supported', 10: 'SIM not inserted', 11: 'SIM PIN required',
  12: 'SIM PUK required', 16: 'incorrect password', 30: 'no network service', 50: 'Incorrect parameters', 100: 'unknown',
};
const CMS: Record<number, string> = { 321: 'invalid memory index', 500: 'unknown error', 302: 'operation not allowed' };

function ipToHexLe(ip: string): string {
  const o = ip.split('.').map(Number);
  return ((o[0]! | (o[1]! << 8) | (o[2]! << 16) | (o[3]! << 24)) >>> 0).toString(16).padStart(8, '0');
}

function maskOf(prefix: number): string {
  const n = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * A stateful model of one modem: SIM (PIN, retry counters), radio, registration following the signal, PDP
 * context and bearer, SMS storage, USSD. Everything a power cycle forgets is reset by `boot()`.
 */
export class ModemModel {
  // Survives a power cycle: the SIM and its storage, the network's view, settings stored in NV memory.
  sim: SimConfig;
  inbox = new Map<number, { pdu: string; read: boolean }>();
  sent: SentSms[] = [];
  signal: LteSignal = { rsrp: -90, rsrq: -10, sinr: 12 };
  noServiceBelow = -125;
  address: BearerAddressV4 = { ipv4: '10.64.0.2', prefixLength: 30, gateway: '10.64.0.1', dns: ['10.64.0.1'] };
  regOverride?: RegStat;
  mode = { preference: 'auto', psOnly: false };
  ussdReplies = new Map<string, string>([['*100#', 'Ihr Guthaben: 12,34 EUR. Gueltig bis 31.12.']]);
  /** Short codes that answer an SMS with an SMS: (text sent) -> reply text, or undefined for no reply. */
  shortCodes = new Map<string, (text: string) => string | undefined>([
    ['1266', (t) => (/saldo/i.test(t) ? 'Ihr aktuelles Guthaben betraegt 4,56 EUR.' : undefined)],
  ]);
  ussdUcs2 = false;
  /** How long the network takes to answer a USSD request, ms. */
  ussdDelayMs = 30;

  // Forgotten on power cycle.
  echo: boolean;
  cmee = 0;
  cfun = 1;
  simLocked = false;
  regN = { cs: 0, gprs: 0, eps: 0 };
  curc = false;
  qindCsq = false;
  cgerep = false;
  cnmi = false;
  cmgf = 0;
  pdp = new Map<number, { type: string; apn: string }>();
  bearerUp = false;
  bearerCid = 1;
  copsFormat = 0;
  private lastReg: RegStat = 0;
  private nextIndex = 0;
  private ref = 0x10;

  constructor(
    readonly profile: VendorProfile,
    sim: Partial<SimConfig>,
    /** Unsolicited output. */
    private readonly urc: (line: string) => void,
    /** Timers of the modem's own (a USSD reply, a short code's SMS answer). */
    private readonly later: (fn: () => void, ms: number) => void,
    private readonly changed: (c: ModemChange) => void = () => undefined,
  ) {
    this.sim = { present: true, pinRetries: 3, pukRetries: 10, ...sim };
    this.echo = profile.echo;
    this.boot();
  }

  /** Power-up: settings back to defaults, the SIM locked again if it has a PIN, the bearer down. */
  boot(): string[] {
    this.echo = this.profile.echo;
    this.cmee = 0;
    this.cfun = 1;
    this.simLocked = !!this.sim.pin && this.sim.present;
    this.regN = { cs: 0, gprs: 0, eps: 0 };
    this.curc = this.profile.family === 'huawei';
    this.qindCsq = false;
    this.cgerep = false;
    this.cnmi = false;
    this.cmgf = 0;
    this.pdp = new Map([[1, { type: 'IP', apn: '' }]]);
    this.bearerUp = false;
    this.lastReg = this.regStat();
    return this.profile.bootUrcs(this.simLocked);
  }

  get simReady(): boolean {
    return this.sim.present && !this.simLocked && this.sim.pinRetries > 0;
  }

  get inService(): boolean {
    return this.signal.rsrp >= this.noServiceBelow;
  }

  regStat(): RegStat {
    if (!this.simReady || this.cfun !== 1) return 0;
    if (this.regOverride !== undefined) return this.regOverride;
    return this.inService ? 1 : 2;
  }

  get registered(): boolean {
    const s = this.regStat();
    return s === 1 || s === 5;
  }

  /** The last signal report of each kind, so a report goes out only when its value changes. */
  private readonly lastSignalUrc = new Map<string, string>();

  // ------------------------------------------------------------ driven by the lab

  setSignal(s: LteSignal): void {
    this.signal = { ...this.signal, ...s };
    this.onNetworkChange();
    if (!this.registered || this.cfun !== 1) return;
    // Like the modems, a report when the reading changes (in the units the report carries), not on every update.
    if (this.profile.family === 'huawei' && this.curc) {
      this.urcOnChange('hcsq', this.hcsqLine());
      this.urcOnChange('rssi', `^RSSI: ${this.csq()}`);
    }
    if (this.profile.family === 'quectel' && this.qindCsq) this.urcOnChange('qind', `+QIND: "csq",${this.csq()},99`);
  }

  private urcOnChange(kind: string, line: string): void {
    if (this.lastSignalUrc.get(kind) === line) return;
    this.lastSignalUrc.set(kind, line);
    this.urc(line);
  }

  /** Re-evaluates registration and the bearer after the signal, SIM or radio changed; sends the URCs. */
  onNetworkChange(): void {
    const stat = this.regStat();
    if (stat !== this.lastReg) {
      this.lastReg = stat;
      this.lastSignalUrc.clear(); // a new registration reports its signal afresh
      for (const [domain, prefix] of [['cs', '+CREG'], ['gprs', '+CGREG'], ['eps', '+CEREG']] as const) {
        const n = this.regN[domain];
        if (n === 0) continue;
        const s = domain === 'cs' && this.mode.psOnly ? 0 : stat;
        this.urc(n >= 2 && (s === 1 || s === 5) ? `${prefix}: ${s},"1A2B","01C3D4E5",7` : `${prefix}: ${s}`);
      }
      this.changed({ type: 'registration', registered: this.registered });
    }
    if (!this.registered && this.bearerUp) this.setBearer(false, 'network');
  }

  /** Bearer up or down; `network` says the network did it (URC sent), else the host asked. */
  setBearer(up: boolean, by: 'host' | 'network'): void {
    if (this.bearerUp === up) return;
    this.bearerUp = up;
    if (this.profile.bearer === 'ndis') this.urc(up ? '^NDISSTAT: 1,,,"IPV4"' : `^NDISSTAT: 0,${by === 'network' ? 36 : 0},,"IPV4"`);
    else if (this.cgerep) this.urc(up ? `+CGEV: ME PDN ACT ${this.bearerCid}` : `+CGEV: ${by === 'network' ? 'NW' : 'ME'} PDN DEACT ${this.bearerCid}`);
    this.changed({ type: 'bearer', up, address: up ? this.address : undefined });
  }

  /** Stores a received message (split into parts as a network would) and announces each part with +CMTI. */
  deliverSms(from: string, text: string, opts: { ucs2?: boolean; order?: number[] } = {}): number[] {
    this.ref = (this.ref + 1) & 0xff;
    const pdus = encodeDeliver(from, text, { ucs2: opts.ucs2, ref: this.ref });
    const order = opts.order ?? pdus.map((_, i) => i);
    const idx: number[] = [];
    for (const i of order) {
      const index = this.nextIndex++;
      this.inbox.set(index, { pdu: pdus[i]!, read: false });
      idx.push(index);
      if (this.cnmi) this.urc(`+CMTI: "SM",${index}`);
    }
    return idx;
  }

  // ------------------------------------------------------------ AT

  private ok(info: string[] = []): Reply {
    return { info, final: 'OK' };
  }

  cmeError(code: number): Reply {
    if (this.cmee === 0) return { info: [], final: 'ERROR' };
    return { info: [], final: `+CME ERROR: ${this.cmee === 2 ? CME[code] ?? code : code}` };
  }

  private cmsError(code: number): Reply {
    if (this.cmee === 0) return { info: [], final: 'ERROR' };
    return { info: [], final: `+CMS ERROR: ${this.cmee === 2 ? CMS[code] ?? code : code}` };
  }

  private simGate(): Reply | undefined {
    if (!this.sim.present) return this.cmeError(10);
    if (this.sim.pinRetries <= 0) return this.cmeError(12);
    if (this.simLocked) return this.cmeError(11);
    return undefined;
  }

  private csq(): number {
    if (!this.inService) return 99;
    const rssi = this.signal.rsrp + 25;
    return Math.max(0, Math.min(31, Math.round((rssi + 113) / 2)));
  }

  private hcsqLine(): string {
    if (!this.registered) return '^HCSQ: "NOSERVICE"';
    const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, Math.round(v)));
    const rssi = clamp(this.signal.rsrp + 25 + 121, 0, 96);
    const rsrp = clamp(this.signal.rsrp + 141, 0, 97);
    const sinr = this.signal.sinr === undefined ? 255 : clamp((this.signal.sinr + 20.2) / 0.2, 0, 251);
    const rsrq = this.signal.rsrq === undefined ? 255 : clamp((this.signal.rsrq + 20) / 0.5, 0, 34);
    return `^HCSQ: "LTE",${rssi},${rsrp},${sinr},${rsrq}`;
  }

  private identity(prefix: string, value: string): Reply {
    return this.ok([this.profile.prefixedIdentity ? `${prefix}: ${value}` : value]);
  }

  /** One command line (without the CR). */
  handle(line: string): Reply {
    const cmd = line.trim();
    const u = cmd.toUpperCase();
    if (u === 'AT' || u === '') return this.ok();
    if (!u.startsWith('AT')) return { info: [], final: 'ERROR' };
    const body = cmd.slice(2);
    const ub = body.toUpperCase();
    const p = this.profile;
    let m: RegExpExecArray | null;

    if ((m = /^E([01])$/.exec(ub))) { this.echo = m[1] === '1'; return this.ok(); }
    if (ub === 'I') return this.ok([`Manufacturer: ${p.manufacturer}`, `Model: ${p.model}`, `Revision: ${p.firmware}`, `IMEI: ${p.imei}`, '+GCAP: +CGSM,+DS,+ES']);
    if ((m = /^\+CMEE=([012])$/.exec(ub))) { this.cmee = Number(m[1]); return this.ok(); }
    if (ub === '+CGMI' || ub === '+GMI') return this.identity('+CGMI', p.manufacturer);
    if (ub === '+CGMM' || ub === '+GMM') return this.identity('+CGMM', p.model);
    if (ub === '+CGMR' || ub === '+GMR') return this.identity('+CGMR', p.firmware);
    if (ub === '+CGSN' || ub === '+GSN') return this.ok([p.imei]);
    if (ub === '+CIMI') return this.simGate() ?? this.ok([p.imsi]);
    if (ub === '^ICCID?' && p.family === 'huawei') return this.sim.present ? this.ok([`^ICCID: ${p.iccid}`]) : this.cmeError(10);
    if (ub === '+QCCID' && p.family === 'quectel') return this.sim.present ? this.ok([`+QCCID: ${p.iccid}`]) : this.cmeError(10);
    if (ub === '+CCID') return this.sim.present ? this.ok([`+CCID: ${p.iccid}`]) : this.cmeError(10);

    // SIM
    if (ub === '+CPIN?') {
      if (!this.sim.present) return this.cmeError(10);
      if (this.sim.pinRetries <= 0) return this.ok(['+CPIN: SIM PUK']);
      return this.ok([`+CPIN: ${this.simLocked ? 'SIM PIN' : 'READY'}`]);
    }
    if ((m = /^\+CPIN="?([^",]*)"?(?:,"?([^"]*)"?)?$/i.exec(body))) return this.enterPin(m[1]!, m[2]);
    if (ub === '^CPIN?' && p.family === 'huawei') {
      const code = !this.sim.present ? 'SIM REMOVED' : this.sim.pinRetries <= 0 ? 'SIM PUK' : this.simLocked ? 'SIM PIN' : 'READY';
      const times = this.simLocked ? this.sim.pinRetries : this.sim.pinRetries <= 0 ? this.sim.pukRetries : '';
      return this.ok([`^CPIN: ${code},${times},${this.sim.pukRetries},${this.sim.pinRetries},10,3`]);
    }
    if (ub === '+QPINC="SC"' && p.family === 'quectel') return this.ok([`+QPINC: "SC",${this.sim.pinRetries},${this.sim.pukRetries}`]);

    // Radio
    if (ub === '+CFUN?') return this.ok([`+CFUN: ${this.cfun}`]);
    if ((m = /^\+CFUN=(\d)(?:,(\d))?$/.exec(ub))) {
      const fun = Number(m[1]);
      if (m[2] === '1') return { ...this.ok(), after: () => this.resetRequested?.() };
      if (![0, 1, 4, 7].includes(fun)) return this.cmeError(50);
      this.cfun = fun === 7 ? 4 : fun;
      if (fun === 0 && this.sim.pin) this.simLocked = true;
      if (this.cfun !== 1) this.setBearer(false, 'network');
      this.onNetworkChange();
      if (p.family !== 'huawei') this.urc(`+CFUN: ${this.cfun}`);
      return this.ok();
    }

    // Registration and operator
    for (const [domain, prefix] of [['cs', '+CREG'], ['gprs', '+CGREG'], ['eps', '+CEREG']] as const) {
      if (ub === `${prefix}?`) {
        const n = this.regN[domain];
        const s = domain === 'cs' && this.mode.psOnly ? 0 : this.regStat();
        return this.ok([n >= 2 && (s === 1 || s === 5) ? `${prefix}: ${n},${s},"1A2B","01C3D4E5",7` : `${prefix}: ${n},${s}`]);
      }
      if ((m = new RegExp(`^\\${prefix}=(\\d)$`).exec(ub))) {
        const n = Number(m[1]);
        if (n > 2) return this.cmeError(50);
        this.regN[domain] = n;
        return this.ok();
      }
    }
    if ((m = /^\+COPS=3,(\d)$/.exec(ub))) { this.copsFormat = Number(m[1]); return this.ok(); }
    if (ub === '+COPS?') {
      if (!this.registered) return this.ok(['+COPS: 0']);
      const oper = this.copsFormat === 2 ? p.operator.numeric : p.operator.name;
      return this.ok([`+COPS: 0,${this.copsFormat},"${oper}",7`]);
    }

    // Signal
    if (ub === '+CSQ') return this.ok([`+CSQ: ${this.registered ? this.csq() : 99},99`]);
    if (ub === '+CESQ') {
      if (!this.registered) return this.ok(['+CESQ: 99,99,255,255,255,255']);
      const rsrq = this.signal.rsrq === undefined ? 255 : Math.max(0, Math.min(34, Math.round((this.signal.rsrq + 20) * 2)));
      return this.ok([`+CESQ: 99,99,255,255,${rsrq},${Math.max(0, Math.min(97, this.signal.rsrp + 141))}`]);
    }
    if (ub === '^HCSQ?' && p.signalCommand === 'AT^HCSQ?') return this.ok([this.hcsqLine()]);
    if (ub === '+QCSQ' && p.signalCommand === 'AT+QCSQ') {
      if (!this.registered) return this.ok(['+QCSQ: "NOSERVICE"']);
      const sinr = Math.round(((this.signal.sinr ?? 0) + 20) * 5);
      return this.ok([`+QCSQ: "LTE",${this.signal.rsrp + 25},${this.signal.rsrp},${sinr},${this.signal.rsrq ?? -10}`]);
    }
    if ((m = /^\^CURC=([01])$/.exec(ub)) && p.family === 'huawei') { this.curc = m[1] === '1'; return this.ok(); }
    if ((m = /^\+QINDCFG="CSQ",([01])(?:,[01])?$/.exec(ub)) && p.family === 'quectel') { this.qindCsq = m[1] === '1'; return this.ok(); }

    // Mode
    if ((m = /^\^SYSCFGEX="(\d+)",[0-9A-F]+,\d,(\d),[0-9A-F]+,,$/.exec(ub)) && p.family === 'huawei') {
      const order: Record<string, string> = { '00': 'auto', '03': 'lte', '0302': 'lte-3g', '02': '3g', '01': '2g' };
      if (!order[m[1]!]) return this.cmeError(50);
      this.mode = { preference: order[m[1]!]!, psOnly: m[2] === '1' };
      return this.ok();
    }
    if ((m = /^\+QCFG="(NWSCANMODE|NWSCANSEQ|SERVICEDOMAIN)",(\d+)(?:,\d)?$/.exec(ub)) && p.family === 'quectel') {
      if (m[1] === 'NWSCANMODE') this.mode.preference = ['auto', '2g', '3g', 'lte'][Number(m[2])] ?? 'auto';
      if (m[1] === 'SERVICEDOMAIN') this.mode.psOnly = m[2] === '1';
      return this.ok();
    }

    // PDP context and bearer
    if ((m = /^\+CGDCONT=(\d+),"(IP|IPV6|IPV4V6)","([^"]*)"/i.exec(body))) {
      this.pdp.set(Number(m[1]), { type: m[2]!.toUpperCase(), apn: m[3]! });
      return this.ok();
    }
    if (ub === '+CGDCONT?') return this.ok([...this.pdp].map(([cid, c]) => `+CGDCONT: ${cid},"${c.type}","${c.apn}","0.0.0.0",0,0`));
    if (/^\+CGAUTH=/.test(ub)) return this.ok();
    if ((m = /^\+CGEREP=(\d)/.exec(ub))) { this.cgerep = m[1] !== '0'; return this.ok(); }
    if (p.bearer === 'ndis') {
      if ((m = /^\^NDISDUP=(\d+),([01])/.exec(ub))) {
        if (m[2] === '0') { this.setBearer(false, 'host'); return this.ok(); }
        const gate = this.simGate();
        if (gate) return gate;
        this.bearerCid = Number(m[1]);
        // OK at once; the connection is told by ^NDISSTAT a moment later, or its failure.
        this.later(() => {
          if (this.registered) this.setBearer(true, 'host');
          else this.urc('^NDISSTAT: 0,33,,"IPV4"');
        }, 20);
        return this.ok();
      }
      if (ub === '^NDISSTATQRY?') return this.ok([`^NDISSTATQRY: ${this.bearerUp ? 1 : 0},,,"IPV4",0,,,"IPV6"`]);
      if (ub === '^DHCP?') {
        if (!this.bearerUp) return this.cmeError(100);
        const a = this.address;
        const dns = [...a.dns, '0.0.0.0', '0.0.0.0'].slice(0, 2);
        return this.ok([`^DHCP: ${[a.ipv4, maskOf(a.prefixLength), a.gateway, a.gateway, ...dns].map(ipToHexLe).join(',')},150000000,50000000`]);
      }
    }
    if ((m = /^\+CGACT=([01]),(\d+)$/.exec(ub))) {
      if (m[1] === '0') { this.setBearer(false, 'host'); return this.ok(); }
      const gate = this.simGate();
      if (gate) return gate;
      if (!this.registered) return this.cmeError(30);
      this.bearerCid = Number(m[2]);
      this.setBearer(true, 'host');
      return this.ok();
    }
    if (ub === '+CGACT?') return this.ok([...this.pdp.keys()].map((cid) => `+CGACT: ${cid},${this.bearerUp && cid === this.bearerCid ? 1 : 0}`));
    if ((m = /^\+CGPADDR(?:=(\d+))?$/.exec(ub))) {
      const cid = Number(m[1] ?? 1);
      return this.ok([`+CGPADDR: ${cid},"${this.bearerUp && cid === this.bearerCid ? this.address.ipv4 : '0.0.0.0'}"`]);
    }
    if ((m = /^\+CGCONTRDP=(\d+)$/.exec(ub))) {
      if (!this.bearerUp) return this.ok();
      const a = this.address;
      const apn = this.pdp.get(this.bearerCid)?.apn ?? '';
      return this.ok([`+CGCONTRDP: ${m[1]},5,"${apn}","${a.ipv4}.${maskOf(a.prefixLength)}","${a.gateway}","${a.dns[0] ?? '0.0.0.0'}","${a.dns[1] ?? '0.0.0.0'}"`]);
    }

    // SMS
    if ((m = /^\+CMGF=([01])$/.exec(ub))) { this.cmgf = Number(m[1]); return this.ok(); }
    if (/^\+CNMI=/.test(ub)) { this.cnmi = /^\+CNMI=\d,[123]/.test(ub); return this.ok(); }
    if (/^\+CPMS=/.test(ub)) return this.ok([`+CPMS: ${this.inbox.size},30,${this.inbox.size},30,${this.inbox.size},30`]);
    if ((m = /^\+CMGL=(\d)$/.exec(ub))) {
      const gate = this.simGate();
      if (gate) return gate;
      if (this.cmgf !== 0) return this.cmsError(302);
      const want = Number(m[1]);
      const info: string[] = [];
      for (const [i, msg] of [...this.inbox].sort((a, b) => a[0] - b[0])) {
        const stat = msg.read ? 1 : 0;
        if (want !== 4 && want !== stat) continue;
        info.push(`+CMGL: ${i},${stat},,${msg.pdu.length / 2 - 1 - parseInt(msg.pdu.slice(0, 2), 16)}`, msg.pdu);
        msg.read = true;
      }
      return this.ok(info);
    }
    if ((m = /^\+CMGR=(\d+)$/.exec(ub))) {
      const msg = this.inbox.get(Number(m[1]));
      if (!msg) return this.cmsError(321);
      const stat = msg.read ? 1 : 0;
      msg.read = true;
      return this.ok([`+CMGR: ${stat},,${msg.pdu.length / 2 - 1 - parseInt(msg.pdu.slice(0, 2), 16)}`, msg.pdu]);
    }
    if ((m = /^\+CMGD=(\d+)(?:,(\d))?$/.exec(ub))) {
      if (m[2] === '4') this.inbox.clear();
      else if (!this.inbox.delete(Number(m[1]))) return this.cmsError(321);
      return this.ok();
    }
    if ((m = /^\+CMGS=(\d+)$/.exec(ub))) {
      const gate = this.simGate();
      if (gate) return gate;
      if (!this.registered) return this.cmsError(500);
      const length = Number(m[1]);
      return { info: [], final: '', prompt: (payload) => this.submit(payload, length) };
    }

    // USSD
    if ((m = /^\+CUSD=([012])(?:,"([^"]*)"(?:,(\d+))?)?$/i.exec(body))) {
      if (m[1] !== '1' || m[2] === undefined) return this.ok();
      const gate = this.simGate();
      if (gate) return gate;
      if (!this.registered) return this.cmeError(30);
      const code = p.ussdPacked ? unpackGsm7Hex(m[2]) : m[2];
      const reply = this.ussdReplies.get(code);
      this.later(() => {
        if (reply === undefined) return this.urc('+CUSD: 4');
        // UCS2 when asked to, or when the text does not fit (the GSM alphabet packed; ASCII as plain text).
        const fits = p.ussdPacked ? !!toSeptets(reply) : /^[\x20-\x7e]*$/.test(reply);
        if (this.ussdUcs2 || !fits) return this.urc(`+CUSD: 0,"${encodeUcs2(reply).toString('hex').toUpperCase()}",72`);
        return this.urc(`+CUSD: 0,"${p.ussdPacked ? packGsm7Hex(reply) : reply}",15`);
      }, this.ussdDelayMs);
      return this.ok();
    }
    return { info: [], final: p.unknownReply };
  }

  /** Set by the emulator: a reset was asked for (AT+CFUN=1,1). */
  resetRequested?: () => void;

  private enterPin(pin: string, newPin: string | undefined): Reply {
    if (!this.sim.present) return this.cmeError(10);
    if (this.sim.pinRetries <= 0) {
      // PUK and new PIN.
      if (newPin !== undefined && pin === this.sim.puk) {
        this.sim.pinRetries = 3;
        this.sim.pin = newPin;
        this.simLocked = false;
        this.onNetworkChange();
        return this.ok();
      }
      this.sim.pukRetries = Math.max(0, this.sim.pukRetries - 1);
      return this.cmeError(16);
    }
    if (!this.simLocked) return this.cmeError(3);
    if (pin === this.sim.pin) {
      this.simLocked = false;
      this.sim.pinRetries = 3;
      this.later(() => {
        this.urc(this.profile.family === 'huawei' ? '^SIMST: 1' : '+CPIN: READY');
        this.onNetworkChange();
      }, 10);
      return this.ok();
    }
    this.sim.pinRetries--;
    return this.cmeError(16);
  }

  private submit(payload: string, length: number): Reply {
    let d;
    try {
      d = decodePdu(payload);
    } catch {
      return this.cmsError(500);
    }
    if (payload.length / 2 - 1 - parseInt(payload.slice(0, 2), 16) !== length || d.type !== 'submit') return this.cmsError(500);
    this.recordPart(d.address, d.text, d.concat);
    return this.ok([`+CMGS: ${(this.sent.length + this.partial.size) & 0xff}`]);
  }

  private partial = new Map<string, { total: number; parts: Map<number, string> }>();

  private recordPart(to: string, text: string, concat: { ref: number; total: number; seq: number } | undefined): void {
    let whole: string | undefined;
    let parts = 1;
    if (!concat) whole = text;
    else {
      const key = `${to}/${concat.ref}`;
      const g = this.partial.get(key) ?? { total: concat.total, parts: new Map() };
      g.parts.set(concat.seq, text);
      this.partial.set(key, g);
      if (g.parts.size === g.total) {
        this.partial.delete(key);
        whole = [...g.parts].sort((a, b) => a[0] - b[0]).map((x) => x[1]).join('');
        parts = g.total;
      }
    }
    if (whole === undefined) return;
    const sms = { to, text: whole, parts };
    this.sent.push(sms);
    this.changed({ type: 'sms-sent', sms });
    const answer = this.shortCodes.get(to)?.(whole);
    if (answer !== undefined) this.later(() => this.deliverSms(to, answer), 50);
  }
}

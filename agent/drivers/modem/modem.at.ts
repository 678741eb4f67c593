// The AT implementation of ModemDriver: Huawei-style NCM modems, Quectel, and plain 3GPP modems over a serial port.
import type { Logger } from '../../../shared/log.js';
import { AtEngine, AtError, type AtPort, type AtReply, type Clock, type SendOptions } from './at.engine.js';
import {
  cpinCode, isRegistered, maskId, parseCgact, parseCgcontrdp, parseCgev, parseCgpaddr, parseCmgs, parseCmti, parseCops,
  parseCpin, parseCusd, parseHcsq, parseHuaweiDhcp, parseIdentityLine, parseImei, parseImsi, parseNdisStat,
  parseRegistration, parseRegistrationLine, parseRssiUrc, parseSmsList, prefixLength, simStateFromCme,
  type ModemSignal, type Operator, type RegDomain, type UssdReply,
} from './at.parse.js';
import { openSerialPort, DeviceError } from './at.port.js';
import { cgauth, cgdcont, dialectFor, generic, ndisdup, quoteAt, type Dialect } from './modem.dialect.js';
import {
  processPinGuard, type BearerConfig, type BearerStatus, type ModeConfig, type ModemDriver, type ModemEvent,
  type ModemIdentity, type PinGuard, type RegistrationStatus, type SimStatus, type SmsMessage, type UnlockResult,
} from './modem.driver.js';
import { encodeSubmit, packGsm7Hex } from './sms.pdu.js';
import { joinSmsParts } from './sms.join.js';

/** Per-command timeouts by kind of command, ms. */
export interface AtTimeouts {
  /** Plain queries. */
  default: number;
  /** Registration-related and operator queries, mode changes. */
  network: number;
  /** Bearer up/down. */
  bearer: number;
  /** SMS send (per part). */
  sms: number;
  /** +CFUN. */
  radio: number;
}

export const DEFAULT_TIMEOUTS: AtTimeouts = { default: 3000, network: 10_000, bearer: 15_000, sms: 30_000, radio: 15_000 };

export interface AtModemOptions {
  device: string;
  log?: Logger;
  clock?: Clock;
  timeouts?: Partial<AtTimeouts>;
  /** How long a late reply is waited for after a timeout (see AtEngine). */
  lateReplyGraceMs?: number;
  pinGuard?: PinGuard;
  /** Fewest PIN attempts that must remain for the configured PIN to be tried (default 2: never risk the PUK). */
  minPinRetries?: number;
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new AtError('aborted', ''));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AtError('aborted', ''));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export class AtModemDriver implements ModemDriver {
  readonly device: string;
  private readonly engine: AtEngine;
  private readonly log?: Logger;
  private readonly t: AtTimeouts;
  private readonly pinGuard: PinGuard;
  private readonly minPinRetries: number;
  private dialect: Dialect = generic;
  private listeners = new Set<(ev: ModemEvent) => void>();
  private smsRef = Math.floor(Math.random() * 256);
  private cid = 1;
  private isGone = false;
  private closing = false;
  private iccid?: string;

  constructor(port: AtPort, opts: AtModemOptions) {
    this.device = opts.device;
    this.log = opts.log;
    this.t = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.pinGuard = opts.pinGuard ?? processPinGuard;
    this.minPinRetries = opts.minPinRetries ?? 2;
    this.engine = new AtEngine(port, { clock: opts.clock, defaultTimeoutMs: this.t.default, lateReplyGraceMs: opts.lateReplyGraceMs, log: opts.log });
    this.engine.onUrc((u) => this.onUrc(u.line));
    this.engine.onClose((err) => {
      this.isGone = true;
      if (this.closing) return;
      this.log?.warn({ device: this.device, err: err?.message }, 'modem gone');
      this.emit({ type: 'modem.gone', reason: err?.message });
    });
  }

  get gone(): boolean {
    return this.isGone;
  }

  /** The dialect in use (known after init). */
  get dialectName(): Dialect['name'] {
    return this.dialect.name;
  }

  /** Counts of garbage and stray lines the engine dropped. */
  get noise(): Readonly<AtEngine['stats']> {
    return this.engine.stats;
  }

  onEvent(listener: (ev: ModemEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(ev: ModemEvent): void {
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch (err) {
        this.log?.error({ err }, 'modem event listener failed');
      }
    }
  }

  private at(cmd: string, signal: AbortSignal, opts: Omit<SendOptions, 'signal'> = {}): Promise<AtReply> {
    return this.engine.send(cmd, { ...opts, signal });
  }

  /** A command whose refusal is fine (an optional feature); timeouts and a vanished device still throw. */
  private async optional(cmd: string, signal: AbortSignal, timeoutMs?: number, secrets?: readonly string[]): Promise<AtReply | undefined> {
    try {
      return await this.at(cmd, signal, { timeoutMs, secrets });
    } catch (err) {
      if (err instanceof AtError && (err.kind === 'error' || err.kind === 'cme' || err.kind === 'cms')) return undefined;
      throw err;
    }
  }

  async init(signal: AbortSignal): Promise<void> {
    // The first command may meet a half line left in the modem's buffer: one retry.
    try {
      await this.at('AT', signal);
    } catch (err) {
      if (!(err instanceof AtError) || err.kind !== 'timeout') throw err;
      await this.at('AT', signal);
    }
    await this.optional('ATE0', signal);
    await this.optional('AT+CMEE=1', signal);
    const maker = parseIdentityLine((await this.optional('AT+CGMI', signal))?.lines ?? [], '+CGMI');
    this.dialect = dialectFor(maker);
    await this.configure(signal);
    this.log?.info({ device: this.device, dialect: this.dialect.name, manufacturer: maker }, 'modem ready');
  }

  /** Unsolicited reports and SMS settings; again after an unlock, as some modems refuse them with a locked SIM. */
  private async configure(signal: AbortSignal): Promise<void> {
    for (const cmd of ['AT+CREG=2', 'AT+CGREG=2', 'AT+CEREG=2', 'AT+CMGF=0', 'AT+CNMI=2,1,0,0,0', 'AT+CGEREP=2,1', ...this.dialect.initCommands]) {
      await this.optional(cmd, signal);
    }
  }

  async identity(signal: AbortSignal): Promise<ModemIdentity> {
    const id: ModemIdentity = {};
    const get = async (cmd: string) => (await this.optional(cmd, signal))?.lines ?? [];
    const manufacturer = parseIdentityLine(await get('AT+CGMI'), '+CGMI');
    const model = parseIdentityLine(await get('AT+CGMM'), '+CGMM');
    const firmware = parseIdentityLine(await get('AT+CGMR'), '+CGMR');
    const imei = parseImei(await get('AT+CGSN'));
    // IMSI needs an unlocked SIM; a refusal just leaves it out.
    const imsi = parseImsi(await get('AT+CIMI'));
    if (manufacturer) id.manufacturer = manufacturer;
    if (model) id.model = model;
    if (firmware) id.firmware = firmware;
    if (imei) id.imei = imei;
    if (imsi) id.imsi = imsi;
    this.log?.info({ manufacturer, model, firmware, imei: maskId(imei), imsi: maskId(imsi) }, 'modem identity');
    return id;
  }

  async simStatus(signal: AbortSignal): Promise<SimStatus> {
    let state: SimStatus['state'];
    try {
      state = parseCpin((await this.at('AT+CPIN?', signal)).lines) ?? 'unknown';
    } catch (err) {
      if (err instanceof AtError && err.kind === 'cme' && err.code !== undefined) state = simStateFromCme(err.code);
      else if (err instanceof AtError && (err.kind === 'cme' || err.kind === 'error')) state = 'error';
      else throw err;
    }
    const s: SimStatus = { state };
    if (this.dialect.pinRetries && state !== 'absent') {
      const r = this.dialect.pinRetries.parse((await this.optional(this.dialect.pinRetries.cmd, signal))?.lines ?? []);
      if (r?.pin !== undefined) s.pinRetries = r.pin;
      if (r?.puk !== undefined) s.pukRetries = r.puk;
    }
    return s;
  }

  private async simKey(signal: AbortSignal): Promise<string> {
    if (this.iccid) return this.iccid;
    for (const cmd of this.dialect.iccid) {
      const lines = (await this.optional(cmd, signal))?.lines ?? [];
      const m = lines.map((l) => /(\d{18,20}F?)/i.exec(l)).find(Boolean);
      if (m) return (this.iccid = `iccid:${m[1]}`);
    }
    return `device:${this.device}`;
  }

  async unlock(pin: string | undefined, signal: AbortSignal): Promise<UnlockResult> {
    const sim = await this.simStatus(signal);
    const log = (result: UnlockResult, extra: object = {}) => {
      this.log?.info({ device: this.device, sim: sim.state, pin_retries: sim.pinRetries, result, ...extra }, 'sim unlock');
      return result;
    };
    switch (sim.state) {
      case 'ready': return 'ready';
      case 'absent': return log('absent');
      case 'puk': case 'puk2': return log('puk-required');
      case 'busy': return log('busy');
      case 'pin': break;
      default: return log('failed');
    }
    if (!pin) return log('no-pin-configured');
    if (!/^\d{4,8}$/.test(pin)) return log('invalid-pin');
    const key = await this.simKey(signal);
    if (this.pinGuard.hasFailed(key)) return log('refused-after-failure');
    if (sim.pinRetries !== undefined && sim.pinRetries < this.minPinRetries) return log('refused-low-retries', { min_retries: this.minPinRetries });
    try {
      await this.at(`AT+CPIN=${quoteAt(pin)}`, signal, { sensitive: true, secrets: [pin], timeoutMs: this.t.network });
    } catch (err) {
      if (!(err instanceof AtError) || err.kind === 'closed') throw err;
      // Wrong PIN, or no answer (it may have been counted): never again for this SIM.
      this.pinGuard.markFailed(key);
      return log(err.kind === 'cme' && err.code === 16 ? 'wrong-pin' : 'failed', { error: err.final ?? err.kind });
    }
    log('unlocked');
    await this.configure(signal);
    return 'unlocked';
  }

  async registration(signal: AbortSignal): Promise<RegistrationStatus> {
    const read = async (cmd: string, domain: RegDomain) => parseRegistration((await this.optional(cmd, signal, this.t.network))?.lines ?? [], domain);
    const cs = await read('AT+CREG?', 'cs');
    const gprs = await read('AT+CGREG?', 'gprs');
    const eps = await read('AT+CEREG?', 'eps');
    const ps = [eps, gprs].find((r) => r && isRegistered(r.state));
    const best = ps ?? [eps, gprs, cs].find((r) => r && isRegistered(r.state)) ?? eps ?? gprs ?? cs;
    const st: RegistrationStatus = { registered: !!best && isRegistered(best.state), state: best?.state ?? 'unknown' };
    if (best?.rat) st.rat = best.rat;
    if (cs) st.cs = cs;
    if (gprs) st.gprs = gprs;
    if (eps) st.eps = eps;
    return st;
  }

  async operator(signal: AbortSignal): Promise<Operator | undefined> {
    await this.optional('AT+COPS=3,0', signal);
    return parseCops((await this.optional('AT+COPS?', signal, this.t.network))?.lines ?? []);
  }

  async signal(signal: AbortSignal): Promise<ModemSignal> {
    for (const { cmd, parse } of this.dialect.signal) {
      const r = await this.optional(cmd, signal);
      const s = r && parse(r.lines);
      if (s && (s.rat !== 'unknown' || s.rssiDbm !== undefined)) return s;
    }
    return { rat: 'unknown' };
  }

  async setMode(mode: ModeConfig, signal: AbortSignal): Promise<boolean> {
    const cmds = this.dialect.mode(mode);
    if (!cmds) return false;
    for (const c of cmds) await this.at(c, signal, { timeoutMs: this.t.network });
    this.log?.info({ device: this.device, preference: mode.preference, ps_only: !!mode.psOnly }, 'modem mode set');
    return true;
  }

  async connect(cfg: BearerConfig, signal: AbortSignal): Promise<void> {
    this.cid = cfg.cid ?? 1;
    await this.at(cgdcont(cfg), signal);
    // The password is scrubbed from every log line and error of these commands (the engine knows them as secret too).
    const secrets = cfg.password ? [cfg.password] : [];
    if (this.dialect.bearer === 'ndis') {
      await this.at(ndisdup(cfg), signal, { timeoutMs: this.t.bearer, sensitive: !!(cfg.user || cfg.password), secrets });
    } else {
      const auth = cgauth(cfg);
      if (auth) await this.optional(auth, signal, undefined, secrets);
      await this.at(`AT+CGACT=1,${this.cid}`, signal, { timeoutMs: this.t.bearer });
    }
    this.log?.info({ device: this.device, apn: cfg.apn, cid: this.cid }, 'bearer requested');
  }

  async disconnect(signal: AbortSignal): Promise<void> {
    if (this.dialect.bearer === 'ndis') await this.optional(`AT^NDISDUP=${this.cid},0`, signal, this.t.bearer);
    else await this.optional(`AT+CGACT=0,${this.cid}`, signal, this.t.bearer);
    this.log?.info({ device: this.device, cid: this.cid }, 'bearer released');
  }

  async bearerStatus(signal: AbortSignal): Promise<BearerStatus> {
    let connected: boolean;
    if (this.dialect.bearer === 'ndis') {
      const r = await this.optional('AT^NDISSTATQRY?', signal);
      const line = r?.lines.find((l) => /^\^NDISSTAT/i.test(l));
      connected = !!line && !!parseNdisStat(line)?.connected;
    } else {
      connected = !!parseCgact((await this.optional('AT+CGACT?', signal))?.lines ?? []).get(this.cid);
    }
    if (!connected) return { connected };
    if (this.dialect.bearer === 'ndis') {
      const d = parseHuaweiDhcp((await this.optional('AT^DHCP?', signal))?.lines ?? []);
      if (d) return { connected, address: { ipv4: d.address, prefixLength: prefixLength(d.netmask), gateway: d.gateway, dns: d.dns } };
    }
    const rdp = parseCgcontrdp((await this.optional(`AT+CGCONTRDP=${this.cid}`, signal))?.lines ?? []);
    const pa = parseCgpaddr((await this.optional(`AT+CGPADDR=${this.cid}`, signal))?.lines ?? []).find((a) => a.cid === this.cid);
    const address: BearerStatus['address'] = { dns: rdp?.dns ?? [] };
    const ipv4 = pa?.ipv4 ?? rdp?.address;
    if (ipv4) address.ipv4 = ipv4;
    if (rdp?.prefixLength !== undefined) address.prefixLength = rdp.prefixLength;
    if (rdp?.gateway) address.gateway = rdp.gateway;
    if (pa?.ipv6) address.ipv6 = pa.ipv6;
    return { connected, address };
  }

  async setRadio(on: boolean, signal: AbortSignal): Promise<void> {
    // CFUN=4 (RF off) rather than 0, which on many modems powers the SIM down and asks for the PIN again.
    await this.at(on ? 'AT+CFUN=1' : 'AT+CFUN=4', signal, { timeoutMs: this.t.radio });
    this.log?.info({ device: this.device, on }, 'modem radio');
  }

  async reset(signal: AbortSignal): Promise<void> {
    this.log?.warn({ device: this.device }, 'modem reset');
    try {
      await this.at('AT+CFUN=1,1', signal, { timeoutMs: this.t.radio });
    } catch (err) {
      // The device may drop before the OK.
      if (!(err instanceof AtError && err.kind === 'closed')) throw err;
    }
  }

  async smsSend(to: string, text: string, signal: AbortSignal): Promise<number[]> {
    this.smsRef = (this.smsRef + 1) & 0xff;
    const parts = encodeSubmit(to, text, this.smsRef);
    const refs: number[] = [];
    for (const p of parts) {
      const r = await this.at(`AT+CMGS=${p.length}`, signal, { payload: p.pdu, timeoutMs: this.t.sms });
      refs.push(parseCmgs(r.lines) ?? -1);
    }
    this.log?.info({ device: this.device, to: maskId(to), parts: parts.length, chars: text.length }, 'sms sent');
    return refs;
  }

  async smsList(signal: AbortSignal): Promise<SmsMessage[]> {
    const r = await this.at('AT+CMGL=4', signal, { timeoutMs: this.t.network });
    const entries = parseSmsList(r.lines, { mode: 'pdu' });
    for (const e of entries.filter((x) => x.error)) this.log?.warn({ index: e.index, error: e.error }, 'sms undecodable');
    return joinSmsParts(entries);
  }

  async smsDelete(ids: readonly number[], signal: AbortSignal): Promise<void> {
    for (const id of ids) await this.optional(`AT+CMGD=${id}`, signal);
  }

  async ussd(code: string, signal: AbortSignal): Promise<UssdReply> {
    if (!/^[0-9*#]+$/.test(code)) throw new Error(`not a USSD code: "${code}"`);
    const packed = this.dialect.ussdPacked;
    let off: () => void = () => undefined;
    const reply = new Promise<UssdReply>((resolve, reject) => {
      const offUrc = this.engine.onUrc((u) => {
        const r = parseCusd(u.line, { packed });
        if (r) resolve(r);
      });
      // The device vanishing while the network's reply is awaited ends the wait.
      const offClose = this.engine.onClose((err) => reject(new AtError('closed', 'AT+CUSD', err?.message)));
      off = () => {
        offUrc();
        offClose();
      };
    });
    reply.catch(() => undefined);
    try {
      await this.at(`AT+CUSD=1,"${packed ? packGsm7Hex(code) : code}",15`, signal, { timeoutMs: this.t.network });
      return await abortable(reply, signal);
    } catch (err) {
      if (err instanceof AtError && err.kind === 'aborted' && !this.engine.closed) {
        void this.engine.send('AT+CUSD=2').catch(() => undefined);
      }
      throw err;
    } finally {
      off();
    }
  }

  private onUrc(line: string): void {
    const u = line.toUpperCase();
    if (u.startsWith('^HCSQ:')) {
      const s = parseHcsq(line);
      if (s) this.emit({ type: 'modem.signal', signal: s });
      return;
    }
    const rssi = parseRssiUrc(line);
    if (rssi) return this.emit({ type: 'modem.signal', signal: rssi });
    const reg = parseRegistrationLine(line);
    if (reg) return this.emit({ type: 'modem.registration', registration: reg });
    const cmti = parseCmti(line);
    if (cmti) return this.emit({ type: 'modem.sms', ...cmti });
    const cusd = parseCusd(line, { packed: this.dialect.ussdPacked });
    if (cusd) return this.emit({ type: 'modem.ussd', reply: cusd });
    const ndis = u.startsWith('^NDISSTAT:') ? parseNdisStat(line) : undefined;
    if (ndis && (ndis.stat === 0 || ndis.stat === 1)) return this.emit({ type: 'modem.bearer', connected: ndis.connected });
    const cgev = parseCgev(line);
    if (cgev && (cgev.cid === undefined || cgev.cid === this.cid)) return this.emit({ type: 'modem.bearer', connected: cgev.up });
    if (u === 'NO CARRIER') return this.emit({ type: 'modem.bearer', connected: false });
    if (u.startsWith('+CPIN:')) return this.emit({ type: 'modem.sim', state: cpinCode(line.slice(6)) });
    if (u === 'RDY' || u.startsWith('^SYSSTART')) return this.emit({ type: 'modem.ready' });
  }

  /** Closes the port; a deliberate close sends no modem.gone. */
  async close(): Promise<void> {
    this.closing = true;
    await this.engine.close();
  }
}

/**
 * Opens the device and, unless told not to, runs init(). A device that is missing, cannot be opened, or does
 * not answer AT fails with a DeviceError, and the port is closed again.
 */
export async function openAtModem(opts: AtModemOptions & { init?: boolean; signal?: AbortSignal }): Promise<AtModemDriver> {
  const signal = opts.signal ?? new AbortController().signal;
  const port = await openSerialPort(opts.device, { signal });
  const driver = new AtModemDriver(port, opts);
  if (opts.init === false) return driver;
  try {
    await driver.init(signal);
  } catch (err) {
    await driver.close();
    if (err instanceof AtError && err.kind === 'timeout') throw new DeviceError(opts.device, 'no reply to AT (not a modem, or a modem that does not answer)');
    if (err instanceof AtError && err.kind === 'closed') throw new DeviceError(opts.device, 'device went away');
    throw err;
  }
  return driver;
}

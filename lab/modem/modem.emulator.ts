// The lab's 3G/LTE modem: a ModemModel speaking AT on a pseudo-terminal (socat), with vendor habits and unplug/replug.
//
//   agent's driver ── devicePath (pty, socat link) ══ socat ══ (pty) <dir>/emu ── ModemEmulator ── ModemModel
//
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import type { Logger } from '../../shared/log.js';
import { Proc } from '../procs.js';
import { ModemModel, type BearerAddressV4, type LteSignal, type ModemChange, type SentSms, type SimConfig } from './modem.model.js';
import { profiles, type VendorProfile } from './modem.profiles.js';

export interface Habits {
  /** Every reply waits this long (ms) after the command. */
  replyDelayMs: number;
  /** Replies to matching commands wait this long instead. */
  slow: Array<{ match: RegExp; delayMs: number }>;
  /** An unsolicited line is slipped between the information lines and the final result of every reply. */
  urcMidReply: boolean;
  /** Matching commands get this final result instead (`times` times, or always). */
  errors: Array<{ match: RegExp; reply: string; times?: number }>;
  /** Garbage bytes before every reply. */
  garbage: boolean;
  /** The modem reads but never answers (hung firmware). */
  silent: boolean;
  /** How long a reset (AT+CFUN=1,1) keeps the device away, ms. */
  resetMs: number;
}

export interface EmulatorOptions {
  profile?: VendorProfile | keyof typeof profiles;
  /** Directory for the pty links; a fresh temporary one by default (removed by close()). */
  dir?: string;
  /** The device path the driver opens (default <dir>/modem). */
  devicePath?: string;
  sim?: Partial<SimConfig>;
  habits?: Partial<Habits>;
  /** Echo at power-up, overriding the profile's default. */
  echo?: boolean;
  signal?: LteSignal;
  address?: BearerAddressV4;
  log?: Logger;
}

const DEFAULT_HABITS: Habits = { replyDelayMs: 0, slow: [], urcMidReply: false, errors: [], garbage: false, silent: false, resetMs: 300 };
const GARBAGE = Buffer.from([0x00, 0xfe, 0x8f, 0x92, 0x93, 0x0d, 0x0a, 0x1b, 0x5b, 0x3f, 0x32, 0x35, 0x68, 0x0d, 0x0a]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`modem emulator: timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * A modem on a pseudo-terminal. `devicePath` is what the agent's driver opens; it vanishes on unplug() and
 * comes back on replug(), like a USB modem's tty. The lab drives `setSignal()` from the scenario's LTE trace
 * and watches `onChange()` for the bearer going up or down to configure its wwan0 link.
 */
export class ModemEmulator {
  readonly devicePath: string;
  readonly model: ModemModel;
  readonly profile: VendorProfile;
  /** Every command line received, in order (test evidence, e.g. that a PIN was tried only once). */
  readonly commands: string[] = [];
  private habits: Habits;
  private readonly emuPath: string;
  private socat?: Proc;
  private port?: SerialPort;
  private rx = '';
  private promptFor?: (payload: string) => void;
  private queue: string[] = [];
  private busy = false;
  private timers = new Set<NodeJS.Timeout>();
  private listeners = new Set<(c: ModemChange | { type: 'plugged'; plugged: boolean }) => void>();
  private isPlugged = false;
  private closed = false;
  private readonly echoAtBoot?: boolean;

  private constructor(readonly dir: string, private readonly ownsDir: boolean, opts: EmulatorOptions) {
    this.profile = typeof opts.profile === 'object' ? opts.profile : profiles[opts.profile ?? 'huawei'];
    this.devicePath = opts.devicePath ?? join(dir, 'modem');
    this.emuPath = join(dir, `emu-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
    this.habits = { ...DEFAULT_HABITS, ...opts.habits };
    this.echoAtBoot = opts.echo;
    this.model = new ModemModel(
      this.profile,
      opts.sim ?? {},
      (line) => this.writeUrc(line),
      (fn, ms) => this.later(fn, ms),
      (c) => this.emit(c),
    );
    if (opts.signal) this.model.signal = { ...this.model.signal, ...opts.signal };
    if (opts.address) this.model.address = opts.address;
    if (this.echoAtBoot !== undefined) this.model.echo = this.echoAtBoot;
    this.model.resetRequested = () => void this.reset();
  }

  static async start(opts: EmulatorOptions = {}): Promise<ModemEmulator> {
    const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'roamlink-modem-')));
    const emu = new ModemEmulator(dir, !opts.dir, opts);
    try {
      await emu.plug(false);
    } catch (err) {
      await emu.close();
      throw err;
    }
    return emu;
  }

  get plugged(): boolean {
    return this.isPlugged;
  }

  get sent(): SentSms[] {
    return this.model.sent;
  }

  setHabits(h: Partial<Habits>): void {
    this.habits = { ...this.habits, ...h };
  }

  /** LTE signal: RSRP dBm alone, or with RSRQ/SINR. Service is lost below the model's `noServiceBelow`. */
  setSignal(s: LteSignal | number): void {
    this.model.setSignal(typeof s === 'number' ? { rsrp: s } : s);
  }

  /** The address the network hands out on the next (or current) bearer. */
  setBearerAddress(a: BearerAddressV4): void {
    this.model.address = a;
  }

  /** Network side: drop the bearer (false) or bring it up as if dialled (true). */
  setBearer(up: boolean): void {
    this.model.setBearer(up, 'network');
  }

  /** Forces a registration outcome ('denied', 'roaming', 'searching'); undefined follows the signal again. */
  setRegistration(state: 'home' | 'roaming' | 'denied' | 'searching' | undefined): void {
    this.model.regOverride = state === undefined ? undefined : ({ home: 1, roaming: 5, denied: 3, searching: 2 } as const)[state];
    this.model.onNetworkChange();
  }

  /** A message arrives from the network (split into parts, UCS2 when needed or asked; parts in `order`). */
  deliverSms(from: string, text: string, opts: { ucs2?: boolean; order?: number[] } = {}): number[] {
    return this.model.deliverSms(from, text, opts);
  }

  /** Sets the reply of a USSD code (e.g. '*100#'), how it is coded, and how long the network takes. */
  setUssdReply(code: string, text: string, opts: { ucs2?: boolean; delayMs?: number } = {}): void {
    this.model.ussdReplies.set(code, text);
    this.model.ussdUcs2 = !!opts.ucs2;
    if (opts.delayMs !== undefined) this.model.ussdDelayMs = opts.delayMs;
  }

  get state() {
    const m = this.model;
    return {
      plugged: this.isPlugged,
      echo: m.echo,
      cfun: m.cfun,
      simLocked: m.simLocked,
      pinRetries: m.sim.pinRetries,
      registered: m.registered,
      signal: { ...m.signal },
      bearerUp: m.bearerUp,
      address: m.bearerUp ? { ...m.address } : undefined,
      mode: { ...m.mode },
    };
  }

  onChange(listener: (c: ModemChange | { type: 'plugged'; plugged: boolean }) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(c: ModemChange | { type: 'plugged'; plugged: boolean }): void {
    for (const l of this.listeners) l(c);
  }

  /** USB unplug: the device path vanishes and the driver's port fails. State on the SIM survives. */
  async unplug(): Promise<void> {
    if (!this.isPlugged) return;
    this.isPlugged = false;
    this.clearTimers();
    this.queue = [];
    this.busy = false;
    this.promptFor = undefined;
    this.rx = '';
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((r) => port.close(() => r()));
    await this.socat?.stop(500);
    this.socat = undefined;
    await rm(this.devicePath, { force: true });
    await rm(this.emuPath, { force: true });
    if (this.model.bearerUp) {
      this.model.bearerUp = false;
      this.emit({ type: 'bearer', up: false });
    }
    this.emit({ type: 'plugged', plugged: false });
  }

  /** Plugged back in: the device path reappears, the modem boots (echo default, SIM locked if it has a PIN). */
  async replug(): Promise<void> {
    await this.plug(true);
  }

  /** Power cycle as after AT+CFUN=1,1: away for `resetMs`, then back. */
  async reset(): Promise<void> {
    await sleep(20);
    await this.unplug();
    await sleep(this.habits.resetMs);
    if (!this.closed) await this.replug();
  }

  private async plug(boot: boolean): Promise<void> {
    if (this.isPlugged || this.closed) return;
    await rm(this.devicePath, { force: true });
    await rm(this.emuPath, { force: true });
    const socat = new Proc('socat-modem', ['socat', `pty,raw,echo=0,link=${this.emuPath}`, `pty,raw,echo=0,link=${this.devicePath}`]);
    this.socat = socat;
    await waitFor(() => (existsSync(this.emuPath) && existsSync(this.devicePath)) || !socat.running, 3000, 'socat pty links');
    if (!socat.running) throw new Error('modem emulator: socat exited');
    const port = new SerialPort({ path: this.emuPath, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    port.on('data', (b: Buffer) => this.onBytes(b));
    port.on('error', () => undefined);
    port.on('close', () => {
      if (this.port === port && this.isPlugged) void this.unplug();
    });
    this.port = port;
    this.isPlugged = true;
    const urcs = this.model.boot();
    if (this.echoAtBoot !== undefined) this.model.echo = this.echoAtBoot;
    if (boot) this.later(() => urcs.forEach((u) => this.writeUrc(u)), 50);
    this.emit({ type: 'plugged', plugged: true });
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.isPlugged) fn();
    }, ms);
    this.timers.add(t);
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private write(data: string | Buffer): void {
    if (!this.isPlugged || !this.port?.isOpen) return;
    this.port.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  private writeUrc(line: string): void {
    this.write(`\r\n${line}\r\n`);
  }

  private onBytes(b: Buffer): void {
    const text = b.toString('latin1');
    if (this.promptFor) {
      if (this.model.echo && !this.habits.silent) this.write(text);
      this.rx += text;
      const end = this.rx.search(/[\x1a\x1b]/);
      if (end < 0) return;
      const payload = this.rx.slice(0, end).replace(/[\r\n]/g, '');
      const cancel = this.rx[end] === '\x1b';
      this.rx = this.rx.slice(end + 1);
      const done = this.promptFor;
      this.promptFor = undefined;
      if (cancel) this.finish({ info: [], final: 'OK' }, 'cmgs');
      else done(payload);
      return;
    }
    this.rx += text;
    for (;;) {
      const m = /[\r\n]/.exec(this.rx);
      if (!m) break;
      const line = this.rx.slice(0, m.index);
      this.rx = this.rx.slice(m.index + 1);
      if (!line.trim()) continue;
      if (this.model.echo && !this.habits.silent) this.write(`${line}\r`);
      this.queue.push(line);
    }
    this.pump();
  }

  private pump(): void {
    if (this.busy || !this.isPlugged) return;
    const line = this.queue.shift();
    if (line === undefined) return;
    this.commands.push(line);
    if (this.habits.silent) return this.pump();
    this.busy = true;
    let reply = this.model.handle(line);
    const forced = this.habits.errors.find((e) => e.match.test(line) && (e.times === undefined || e.times > 0));
    if (forced) {
      if (forced.times !== undefined) forced.times--;
      reply = { info: [], final: forced.reply };
    }
    const delay = this.habits.slow.find((s) => s.match.test(line))?.delayMs ?? this.habits.replyDelayMs;
    const go = () => {
      if (reply.prompt) {
        const prompt = reply.prompt;
        this.promptFor = (payload) => this.finish(prompt(payload), line);
        this.write('\r\n> ');
        return;
      }
      this.finish(reply, line);
    };
    if (delay > 0) this.later(go, delay);
    else go();
  }

  private finish(reply: ReturnType<ModemModel['handle']>, _line: string): void {
    let out = '';
    if (this.habits.garbage) this.write(GARBAGE);
    const mid = this.habits.urcMidReply ? this.midReplyUrc() : undefined;
    reply.info.forEach((l, i) => {
      out += `\r\n${l}\r\n`;
      if (mid && i === 0) out += `\r\n${mid}\r\n`;
    });
    if (mid && reply.info.length === 0) out += `\r\n${mid}\r\n`;
    out += `\r\n${reply.final}\r\n`;
    this.write(out);
    this.busy = false;
    reply.after?.();
    this.pump();
  }

  /** A URC that changes nothing, in the vendor's style (Quectel's one is the ambiguous +CEREG form). */
  private midReplyUrc(): string {
    const m = this.model;
    if (this.profile.family === 'huawei') return '^BOOT:20131286,0,0,0,72';
    return `+CEREG: ${m.regStat()}`;
  }

  /** Tears everything down: the pty pair, socat, timers, the temporary directory. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.unplug().catch(() => undefined);
    this.closed = true;
    this.clearTimers();
    await this.socat?.stop(500);
    if (this.ownsDir) await rm(this.dir, { recursive: true, force: true });
  }
}

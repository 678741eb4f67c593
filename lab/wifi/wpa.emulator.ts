// An emulated wpa_supplicant control interface for one radio: the real protocol on a unix datagram socket, over a model.
import { pbkdf2Sync } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import unix, { type UnixDgramError, type UnixDgramSocket } from 'unix-dgram';
import type { Logger } from '../../shared/log.js';
import { decodeSsid, encodeSsidText } from '../../agent/drivers/wpa/wpa.parse.js';

/*
 * Replies and events were checked against a real wpa_supplicant 2.10 (wired driver on a veth, 2026-11): STATUS,
 * LIST_NETWORKS flags, SET_NETWORK FAIL cases, NETWORK-ADDED/REMOVED, the CONNECTED/DISCONNECTED texts, SELECT_NETWORK
 * of the current network doing nothing, DETACH when not attached answering FAIL.
 * The model: configured networks (ADD/SET/ENABLE/SELECT/REMOVE_NETWORK), the state (DISCONNECTED, SCANNING,
 * ASSOCIATING, COMPLETED…), the current network and AP, the attached monitors, the last scan. The APs and their
 * signals come from the lab (`aps()`, read at every scan, poll and tick). Like wpa_supplicant it replies to each
 * command at once and reports progress as events ("<3>CTRL-EVENT-…") to the monitors that sent ATTACH, and keeps
 * trying to connect to its enabled networks unless told DISCONNECT.
 * - An AP weaker than minSignal is out of range: not in scans, association fails (NETWORK-NOT-FOUND), and an
 *   associated radio loses it at the next tick (CTRL-EVENT-DISCONNECTED reason=4 locally_generated=1).
 * - A wrong psk: "Associated with", CTRL-EVENT-DISCONNECTED reason=15, "WPA: 4-Way Handshake failed - pre-shared
 *   key may be incorrect", CTRL-EVENT-SSID-TEMP-DISABLED … reason=WRONG_KEY; retried after the temp-disable
 *   duration (10 s, 20 s, 30 s, 60 s… as wpa_supplicant does).
 * - `associate(ap | null)` is the lab's hook that moves the radio's link onto that AP's segment (or off it); calls
 *   are serialized, and a move from one AP to another is `associate(null)` then `associate(ap)`.
 */

export interface EmulatedAp {
  bssid: string;
  ssid: string;
  /** dBm as this radio would see it now. */
  signal: number;
  freq: number;
  security: 'open' | 'psk';
  /** The passphrase (8..63 characters) or raw PSK (64 hex) of a psk AP. */
  psk?: string;
}

export interface WpaEmulatorOptions {
  /** Where to bind the control socket, e.g. <dir>/wpa/wlan0. */
  ctrlPath: string;
  ifname: string;
  /** The APs as the radio sees them now. */
  aps: () => EmulatedAp[];
  /** Called on association (the AP) and disassociation (null); the radio's link follows. */
  associate: (ap: EmulatedAp | null) => Promise<void>;
  /** dBm below which an AP is out of range. Default -90. */
  minSignal?: number;
  /** Clock for temp-disable durations. Default Date.now. */
  now?: () => number;
  /** How long a scan takes, in ms. Default 0 (results on the next turn of the event loop). */
  scanMs?: number;
  /** Runs tick() on an interval of this many ms (unref'd, stopped by stop()). Default: no interval. */
  tickMs?: number;
  /** The radio's own MAC, for STATUS. */
  address?: string;
  log?: Logger;
}

type WpaState = 'DISCONNECTED' | 'INACTIVE' | 'SCANNING' | 'ASSOCIATING' | '4WAY_HANDSHAKE' | 'COMPLETED';

interface Network {
  id: number;
  ssid: string | null;
  bssid: string | null;
  keyMgmt: string[];
  /** As set: a passphrase (without quotes) or 64 hex digits. */
  psk: string | null;
  disabled: boolean;
  tempDisabledUntil: number | null;
  authFailures: number;
  other: Map<string, string>;
}

const KEY_MGMT = new Set(['NONE', 'WPA-PSK', 'WPA-EAP', 'IEEE8021X', 'SAE', 'WPA-PSK-SHA256', 'FT-PSK', 'OWE']);
const OTHER_VARS = new Set(['scan_ssid', 'priority', 'id_str', 'proto', 'pairwise', 'group', 'ieee80211w', 'auth_alg', 'bgscan']);

export class WpaEmulator {
  private readonly o: Required<Pick<WpaEmulatorOptions, 'minSignal' | 'now' | 'scanMs'>> & WpaEmulatorOptions;
  private sock: UnixDgramSocket | null = null;
  private readonly networks = new Map<number, Network>();
  private nextId = 0;
  private state: WpaState = 'DISCONNECTED';
  private current: { net: Network; ap: EmulatedAp } | null = null;
  /** DISCONNECT was asked: no automatic (re)connection until SELECT_NETWORK, RECONNECT or REASSOCIATE. */
  private userDisconnected = false;
  private readonly monitors = new Set<string>();
  private scanning = false;
  private lastScan: EmulatedAp[] = [];
  /** Bumped whenever the intent changes; an association attempt from an older generation stops. */
  private gen = 0;
  /** Association attempts under way. */
  private attempting = 0;
  /** The AP the link is on (as far as the hook calls queued so far go) and the queue of hook calls. */
  private linked: EmulatedAp | null = null;
  private linkChain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly address: string;

  constructor(opts: WpaEmulatorOptions) {
    this.o = { minSignal: -90, now: Date.now, scanMs: 0, ...opts };
    this.address = opts.address ?? fakeMac(opts.ifname);
  }

  get ifname(): string {
    return this.o.ifname;
  }

  /** Binds the control socket (replacing a stale socket file). */
  async start(): Promise<void> {
    removeFile(this.o.ctrlPath);
    const sock = unix.createSocket('unix_dgram');
    let failure: UnixDgramError | undefined;
    sock.on('error', (err) => (failure = err));
    sock.bind(this.o.ctrlPath);
    if (failure) {
      sock.close();
      throw new Error(`wpa emulator ${this.o.ifname}: cannot bind ${this.o.ctrlPath}: ${errnoName(failure)}`);
    }
    sock.removeAllListeners('error');
    sock.on('error', (err) => this.o.log?.warn({ err: errnoName(err), ifname: this.o.ifname }, 'wpa emulator socket error'));
    sock.on('message', (buf, rinfo) => this.onCommand(buf.toString('utf8'), rinfo.path ?? null));
    this.sock = sock;
    if (this.o.tickMs) {
      this.timer = setInterval(() => void this.tick(), this.o.tickMs);
      this.timer.unref();
    }
  }

  /** Tells the monitors it is terminating, closes the socket, removes its file. The link is left as it is. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.emit('CTRL-EVENT-TERMINATING');
    this.stopped = true;
    this.gen++;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      this.sock?.close();
    } catch {
      // closed
    }
    this.sock = null;
    removeFile(this.o.ctrlPath);
    await this.linkChain.catch(() => {});
  }

  /** The model, for tests and the lab's own checks. */
  snapshot(): { state: WpaState; bssid: string | null; ssid: string | null; monitors: number; networks: number } {
    return { state: this.state, bssid: this.current?.ap.bssid ?? null, ssid: this.current?.ap.ssid ?? null, monitors: this.monitors.size, networks: this.networks.size };
  }

  /**
   * Re-checks the world: re-enables temp-disabled networks whose time is up, drops an association whose AP is gone
   * or out of range, and (re)connects to an enabled network in range when not connected and not told DISCONNECT.
   */
  async tick(): Promise<void> {
    if (this.stopped) return;
    const now = this.o.now();
    for (const n of this.networks.values()) {
      if (n.tempDisabledUntil !== null && now >= n.tempDisabledUntil) {
        n.tempDisabledUntil = null;
        this.emit(`CTRL-EVENT-SSID-REENABLED id=${n.id} ssid="${encodeSsidText(n.ssid ?? '')}"`);
      }
    }
    if (this.current) {
      const seen = this.o.aps().find((a) => a.bssid.toLowerCase() === this.current!.ap.bssid.toLowerCase());
      if (!seen || seen.signal < this.o.minSignal || !this.suits(this.current.net, seen)) {
        this.gen++;
        this.leave(4);
        this.state = 'DISCONNECTED';
      }
    } else if (!this.userDisconnected && this.attempting === 0 && this.pickTarget()) {
      await this.attempt(false);
    }
    await this.linkChain.catch(() => {});
  }

  // ---- protocol ------------------------------------------------------------------------------------------------

  private onCommand(text: string, from: string | null): void {
    if (this.stopped || !from) return; // an unbound client cannot be answered (wpa_supplicant drops it too)
    const cmd = text.replace(/\n$/, '');
    let after: (() => void) | undefined;
    let reply: string;
    try {
      [reply, after] = this.handle(cmd, from);
    } catch (err) {
      this.o.log?.error({ err, cmd: cmd.split(' ')[0] }, 'wpa emulator: command failed');
      reply = 'FAIL\n';
    }
    this.sendTo(from, reply);
    after?.();
  }

  private handle(cmd: string, from: string): [string, (() => void)?] {
    const [verb = '', ...args] = cmd.split(' ');
    const ok = 'OK\n';
    const fail = 'FAIL\n';
    switch (verb) {
      case 'PING':
        return ['PONG\n'];
      case 'ATTACH':
        this.monitors.add(from);
        return [ok];
      case 'DETACH':
        return [this.monitors.delete(from) ? ok : fail];
      case 'STATUS':
        return [this.status()];
      case 'SCAN':
        if (this.scanning) return ['FAIL-BUSY\n'];
        this.scanning = true;
        return [ok, () => this.runScan()];
      case 'SCAN_RESULTS':
        return [this.scanResults()];
      case 'SIGNAL_POLL':
        return [this.signalPoll()];
      case 'ADD_NETWORK': {
        const id = this.nextId++;
        this.networks.set(id, { id, ssid: null, bssid: null, keyMgmt: ['WPA-PSK', 'WPA-EAP'], psk: null, disabled: true, tempDisabledUntil: null, authFailures: 0, other: new Map() });
        return [`${id}\n`, () => this.emit(`CTRL-EVENT-NETWORK-ADDED ${id}`)];
      }
      case 'SET_NETWORK': {
        const net = this.networks.get(Number(args[0]));
        if (!net || !/^\d+$/.test(args[0] ?? '') || args.length < 3) return [fail];
        return [this.setNetwork(net, args[1]!, args.slice(2).join(' ')) ? ok : fail];
      }
      case 'LIST_NETWORKS':
        return [this.listNetworks()];
      case 'ENABLE_NETWORK':
      case 'DISABLE_NETWORK': {
        const enable = verb === 'ENABLE_NETWORK';
        const nets = args[0] === 'all' ? [...this.networks.values()] : [this.networks.get(Number(args[0]))];
        if (nets.some((n) => n === undefined) || (args[0] !== 'all' && !/^\d+$/.test(args[0] ?? ''))) return [fail];
        for (const n of nets as Network[]) {
          n.disabled = !enable;
          if (enable) n.tempDisabledUntil = null;
        }
        if (!enable && this.current && nets.includes(this.current.net)) {
          this.gen++;
          this.leave(3, true);
          return [ok, () => void this.attempt(true)];
        }
        return [ok, enable && !this.current && !this.userDisconnected ? () => void this.attempt(true) : undefined];
      }
      case 'SELECT_NETWORK': {
        const any = args[0] === 'any';
        const net = any ? undefined : this.networks.get(Number(args[0]));
        if (!any && (!net || !/^\d+$/.test(args[0] ?? ''))) return [fail];
        for (const n of this.networks.values()) {
          n.disabled = any ? false : n !== net;
          if (any || n === net) n.tempDisabledUntil = null;
        }
        if (net) net.authFailures = 0;
        this.userDisconnected = false;
        // Already associated with the selected network, on an AP it allows: nothing to do (as wpa_supplicant).
        if (this.current && (any || this.current.net === net) && this.suits(this.current.net, this.current.ap)) return [ok];
        this.gen++;
        if (this.current) this.leave(3, true);
        return [ok, () => void this.attempt(true)];
      }
      case 'REMOVE_NETWORK': {
        const all = args[0] === 'all';
        const net = all ? undefined : this.networks.get(Number(args[0]));
        if (!all && (!net || !/^\d+$/.test(args[0] ?? ''))) return [fail];
        const removed = all ? [...this.networks.values()] : [net!];
        if (this.current && removed.includes(this.current.net)) {
          this.gen++;
          this.leave(3, true);
        }
        for (const n of removed) this.networks.delete(n.id);
        return [ok, () => removed.forEach((n) => this.emit(`CTRL-EVENT-NETWORK-REMOVED ${n.id}`))];
      }
      case 'DISCONNECT':
        this.userDisconnected = true;
        this.gen++;
        this.leave(3, true);
        this.state = 'DISCONNECTED';
        return [ok];
      case 'RECONNECT':
        if (!this.userDisconnected) return [ok];
        this.userDisconnected = false;
        return [ok, () => void this.attempt(true)];
      case 'REASSOCIATE':
        this.userDisconnected = false;
        this.gen++;
        this.leave(3, true);
        return [ok, () => void this.attempt(true)];
      default:
        return ['UNKNOWN COMMAND\n'];
    }
  }

  private setNetwork(net: Network, name: string, value: string): boolean {
    switch (name) {
      case 'ssid': {
        const s = parseStringValue(value);
        if (s === null || s.length === 0 || s.length > 32) return false;
        net.ssid = s.toString('utf8');
        return true;
      }
      case 'bssid':
        if (value === 'any' || value === '' || value === '""') net.bssid = null;
        else if (/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(value)) net.bssid = value.toLowerCase();
        else return false;
        return true;
      case 'psk': {
        const m = /^"(.*)"$/s.exec(value);
        if (m && /^[\x20-\x7e]{8,63}$/.test(m[1]!)) net.psk = m[1]!;
        else if (/^[0-9a-fA-F]{64}$/.test(value)) net.psk = value.toLowerCase();
        else return false;
        return true;
      }
      case 'key_mgmt': {
        const tokens = value.split(/\s+/).filter(Boolean);
        if (tokens.length === 0 || !tokens.every((t) => KEY_MGMT.has(t))) return false;
        net.keyMgmt = tokens;
        return true;
      }
      case 'disabled':
        if (value !== '0' && value !== '1') return false;
        net.disabled = value === '1';
        return true;
      default:
        if (!OTHER_VARS.has(name)) return false;
        net.other.set(name, value);
        return true;
    }
  }

  private status(): string {
    const lines: string[] = [];
    const c = this.current;
    if (c && this.state === 'COMPLETED') {
      const psk = c.ap.security === 'psk';
      lines.push(
        `bssid=${c.ap.bssid.toLowerCase()}`, `freq=${c.ap.freq}`, `ssid=${encodeSsidText(c.ap.ssid)}`, `id=${c.net.id}`, 'mode=station',
        `pairwise_cipher=${psk ? 'CCMP' : 'NONE'}`, `group_cipher=${psk ? 'CCMP' : 'NONE'}`, `key_mgmt=${psk ? 'WPA2-PSK' : 'NONE'}`,
      );
    }
    lines.push(`wpa_state=${this.state}`, `address=${this.address}`, 'uuid=5a3c2e1e-0b6d-5c1f-9e0e-000000000000');
    return `${lines.join('\n')}\n`;
  }

  private inRange(): EmulatedAp[] {
    return this.o.aps().filter((a) => a.signal >= this.o.minSignal);
  }

  private runScan(): void {
    this.emit('CTRL-EVENT-SCAN-STARTED ');
    const finish = () => {
      if (this.stopped) return;
      this.lastScan = this.inRange().map((a) => ({ ...a }));
      this.scanning = false;
      this.emit('CTRL-EVENT-SCAN-RESULTS ');
    };
    if (this.o.scanMs > 0) setTimeout(finish, this.o.scanMs).unref();
    else setImmediate(finish);
  }

  private scanResults(): string {
    const rows = this.lastScan.map((a) => `${a.bssid.toLowerCase()}\t${a.freq}\t${Math.round(a.signal)}\t${a.security === 'psk' ? '[WPA2-PSK-CCMP][ESS]' : '[ESS]'}\t${encodeSsidText(a.ssid)}`);
    return ['bssid / frequency / signal level / flags / ssid', ...rows].join('\n') + '\n';
  }

  private signalPoll(): string {
    if (!this.current || this.state !== 'COMPLETED') return 'FAIL\n';
    const ap = this.o.aps().find((a) => a.bssid.toLowerCase() === this.current!.ap.bssid.toLowerCase());
    if (!ap) return 'FAIL\n';
    const rssi = Math.round(ap.signal);
    return `RSSI=${rssi}\nLINKSPEED=65\nNOISE=9999\nFREQUENCY=${ap.freq}\nWIDTH=20 MHz\nCENTER_FRQ1=${ap.freq}\nAVG_RSSI=${rssi}\n`;
  }

  private listNetworks(): string {
    const now = this.o.now();
    const rows = [...this.networks.values()].map((n) => {
      const flags = `${this.current?.net === n ? '[CURRENT]' : ''}${n.disabled ? '[DISABLED]' : ''}${n.tempDisabledUntil !== null && n.tempDisabledUntil > now ? '[TEMP-DISABLED]' : ''}`;
      return `${n.id}\t${encodeSsidText(n.ssid ?? '')}\t${n.bssid ?? 'any'}\t${flags}`;
    });
    return ['network id / ssid / bssid / flags', ...rows].join('\n') + '\n';
  }

  // ---- association -----------------------------------------------------------------------------------------------

  /** Whether a network may use this AP: SSID, BSSID pin, and security (key_mgmt and a psk to try). */
  private suits(n: Network, ap: EmulatedAp): boolean {
    if (n.ssid === null || n.ssid !== ap.ssid) return false;
    if (n.bssid !== null && n.bssid !== ap.bssid.toLowerCase()) return false;
    if (ap.security === 'open') return n.keyMgmt.includes('NONE');
    return n.keyMgmt.some((k) => k.includes('PSK')) && n.psk !== null;
  }

  /** The strongest in-range AP of an enabled, not temp-disabled network (lowest id first, as configured). */
  private pickTarget(): { net: Network; ap: EmulatedAp } | null {
    const now = this.o.now();
    const aps = this.inRange().sort((a, b) => b.signal - a.signal);
    for (const net of [...this.networks.values()].sort((a, b) => a.id - b.id)) {
      if (net.disabled || (net.tempDisabledUntil !== null && net.tempDisabledUntil > now)) continue;
      const ap = aps.find((a) => this.suits(net, a));
      if (ap) return { net, ap };
    }
    return null;
  }

  /** Leaves the current AP, if any: the event, and the link off the segment. */
  private leave(reason: number, locally = true): void {
    const c = this.current;
    this.current = null;
    if (this.state !== 'DISCONNECTED' && this.state !== 'INACTIVE') this.state = 'DISCONNECTED';
    if (c) {
      this.emit(`CTRL-EVENT-DISCONNECTED bssid=${c.ap.bssid.toLowerCase()} reason=${reason}${locally ? ' locally_generated=1' : ''}`);
      this.emit('CTRL-EVENT-DSCP-POLICY clear_all');
    }
    this.setLink(null);
  }

  /** One association attempt with the best target; `explicit` (a command asked for it) reports NETWORK-NOT-FOUND. */
  private async attempt(explicit: boolean): Promise<void> {
    if (this.stopped || this.current) return;
    const gen = ++this.gen;
    const target = this.pickTarget();
    if (!target) {
      const anyEnabled = [...this.networks.values()].some((n) => !n.disabled);
      this.state = anyEnabled ? 'SCANNING' : 'INACTIVE';
      if (explicit && anyEnabled) this.emit('CTRL-EVENT-NETWORK-NOT-FOUND');
      return;
    }
    const { net, ap } = target;
    const bssid = ap.bssid.toLowerCase();
    this.attempting++;
    try {
      this.state = 'ASSOCIATING';
      this.emit(`Trying to associate with ${bssid} (SSID='${encodeSsidText(ap.ssid)}' freq=${ap.freq} MHz)`);
      await new Promise((r) => setImmediate(r));
      if (gen !== this.gen || this.stopped) return;
      if (ap.security === 'psk' && !pskMatches(net.psk!, ap)) {
        this.state = '4WAY_HANDSHAKE';
        this.emit(`Associated with ${bssid}`);
        this.state = 'DISCONNECTED';
        this.emit(`CTRL-EVENT-DISCONNECTED bssid=${bssid} reason=15`);
        this.emit('WPA: 4-Way Handshake failed - pre-shared key may be incorrect');
        net.authFailures++;
        const duration = tempDisableSeconds(net.authFailures);
        net.tempDisabledUntil = this.o.now() + duration * 1000;
        this.emit(`CTRL-EVENT-SSID-TEMP-DISABLED id=${net.id} ssid="${encodeSsidText(net.ssid ?? '')}" auth_failures=${net.authFailures} duration=${duration} reason=WRONG_KEY`);
        return;
      }
      this.setLink(ap);
      try {
        await this.linkChain;
      } catch (err) {
        if (gen !== this.gen) return;
        this.o.log?.warn({ err, ifname: this.o.ifname, bssid }, 'wpa emulator: the associate hook failed');
        this.state = 'DISCONNECTED';
        this.emit(`CTRL-EVENT-ASSOC-REJECT bssid=${bssid} status_code=1`);
        this.setLink(null);
        return;
      }
      if (gen !== this.gen || this.stopped) return; // superseded: whoever superseded it moves the link
      net.authFailures = 0;
      this.current = { net, ap };
      this.state = 'COMPLETED';
      this.emit(`Associated with ${bssid}`);
      if (ap.security === 'psk') this.emit(`WPA: Key negotiation completed with ${bssid} [PTK=CCMP GTK=CCMP]`);
      this.emit(`CTRL-EVENT-CONNECTED - Connection to ${bssid} completed [id=${net.id} id_str=${net.other.get('id_str') ?? ''}]`);
      this.emit('CTRL-EVENT-SUBNET-STATUS-UPDATE status=0');
    } finally {
      this.attempting--;
    }
  }

  /** Queues the hook so the link ends on `ap` (or off any); skips calls that change nothing. */
  private setLink(ap: EmulatedAp | null): void {
    const step = async () => {
      const cur = this.linked;
      if (cur?.bssid.toLowerCase() === ap?.bssid.toLowerCase()) return;
      if (cur && ap) {
        await this.o.associate(null);
        this.linked = null;
      }
      await this.o.associate(ap);
      this.linked = ap;
    };
    this.linkChain = this.linkChain.catch(() => {}).then(step);
    this.linkChain.catch(() => {}); // reported to the attempt that awaits it; never unhandled
  }

  private emit(text: string): void {
    if (this.stopped) return;
    for (const path of [...this.monitors]) {
      if (!this.sendTo(path, `<3>${text}`)) this.monitors.delete(path);
    }
  }

  /** false when the peer is gone (its socket file removed or closed). */
  private sendTo(path: string, text: string): boolean {
    if (!this.sock) return false;
    const buf = Buffer.from(text, 'utf8');
    let err: UnixDgramError | undefined;
    this.sock.send(buf, 0, buf.length, path, (e) => (err = e));
    if (!err) return true;
    const name = errnoName(err);
    if (name !== 'ENOENT' && name !== 'ECONNREFUSED') this.o.log?.debug({ ifname: this.o.ifname, err: name }, 'wpa emulator: a message was dropped');
    return !(name === 'ENOENT' || name === 'ECONNREFUSED');
  }
}

/** wpa_supplicant's string values: "quoted" (taken between the first and last quote), P"printf-escaped", or hex. */
function parseStringValue(value: string): Buffer | null {
  if (value.startsWith('"')) {
    const end = value.lastIndexOf('"');
    return end > 0 && end === value.length - 1 ? Buffer.from(value.slice(1, end), 'utf8') : null;
  }
  if (value.startsWith('P"') && value.endsWith('"') && value.length >= 3) return Buffer.from(decodeSsid(value.slice(2, -1)), 'utf8');
  if (/^([0-9a-fA-F]{2})+$/.test(value)) return Buffer.from(value, 'hex');
  return null;
}

/** The 256-bit PSK: a 64-hex raw key as is, or PBKDF2-SHA1(passphrase, ssid, 4096) as WPA defines it. */
function pmk(psk: string, ssid: string): string {
  return /^[0-9a-fA-F]{64}$/.test(psk) ? psk.toLowerCase() : pbkdf2Sync(psk, Buffer.from(ssid, 'utf8'), 4096, 32, 'sha1').toString('hex');
}

function pskMatches(netPsk: string, ap: EmulatedAp): boolean {
  return ap.psk !== undefined && pmk(netPsk, ap.ssid) === pmk(ap.psk, ap.ssid);
}

/** wpa_supplicant's back-off after authentication failures (wpas_auth_failed), in seconds. */
function tempDisableSeconds(failures: number): number {
  if (failures > 50) return 300;
  if (failures > 10) return 120;
  if (failures > 5) return 90;
  if (failures > 3) return 60;
  if (failures === 3) return 30;
  if (failures === 2) return 20;
  return 10;
}

function fakeMac(ifname: string): string {
  let h = 0;
  for (const c of Buffer.from(ifname)) h = (h * 31 + c) & 0xffffff;
  return `02:00:00:${[h >> 16, (h >> 8) & 255, h & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

function errnoName(err: UnixDgramError): string {
  const n = typeof err.errno === 'number' ? -err.errno : typeof err.code === 'number' ? -err.code : NaN;
  const hit = Object.entries(osConstants.errno).find(([, v]) => v === n);
  return hit ? hit[0] : String(err.code ?? err.message);
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there
  }
}

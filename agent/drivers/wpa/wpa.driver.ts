// The Wi-Fi radio driver over wpa_supplicant's control interface (RadioDriver): scan, connect, status, signal, events.
import { createHash } from 'node:crypto';
import type { Logger } from '../../../shared/log.js';
import type { RadioDriver, RadioEvent, RadioNetwork, RadioStatus, ScanEntry } from '../radio.js';
import { WpaCtrl, WpaCtrlError, redactCommand } from './wpa.ctrl.js';
import { parseEvent, parseListNetworks, parseScanResults, parseSignalPoll, parseStatus, ssidArg, type WpaEvent } from './wpa.parse.js';

/*
 * One wpa_supplicant network block per SSID, reused: connect() finds it in LIST_NETWORKS (or adds it), sets ssid,
 * bssid (the AP chosen, or any), key_mgmt and psk only when they differ from what this driver last set, then
 * SELECT_NETWORK (which enables it and disables the others). The psk is sent to wpa_supplicant and nowhere else:
 * commands are logged and quoted in errors redacted, and the remembered configuration keeps a digest, not the psk.
 */

export class WpaError extends Error {
  constructor(readonly command: string, readonly reply: string) {
    super(`wpa_supplicant refused ${JSON.stringify(command)}: ${reply.trim() || '(empty reply)'}`);
    this.name = 'WpaError';
  }
}

export interface WpaDriverOptions {
  ifname: string;
  /** The interface's control socket, e.g. /run/wpa_supplicant/wlan0. */
  ctrlPath: string;
  /** Where the client socket file goes (default: the OS temp dir). */
  clientDir?: string;
  log?: Logger;
}

const IN_PROGRESS = new Set(['AUTHENTICATING', 'ASSOCIATING', 'ASSOCIATED', '4WAY_HANDSHAKE', 'GROUP_HANDSHAKE']);

/** Opens the control socket, checks wpa_supplicant answers (PING) and subscribes to its events (ATTACH). */
export async function openWpaDriver(opts: WpaDriverOptions, signal: AbortSignal): Promise<WpaDriver> {
  const ctrl = WpaCtrl.open({ ctrlPath: opts.ctrlPath, clientDir: opts.clientDir, log: opts.log });
  const driver = new WpaDriver(opts.ifname, ctrl, opts.log);
  try {
    const pong = await ctrl.request('PING', signal);
    if (pong.trim() !== 'PONG') throw new WpaError('PING', pong);
    await driver.expectOk('ATTACH', signal);
  } catch (err) {
    await driver.close();
    throw err;
  }
  return driver;
}

export class WpaDriver implements RadioDriver {
  private readonly listeners = new Set<(ev: RadioEvent) => void>();
  private readonly wpaListeners = new Set<(ev: WpaEvent) => void>();
  /** What this driver last set on each network id: a digest of ssid, bssid and psk. */
  private readonly configured = new Map<number, { ssid: string; digest: string }>();
  /** Rejecters of event waits, failed on close(). */
  private readonly waits = new Set<(err: Error) => void>();
  private closed = false;

  constructor(
    readonly ifname: string,
    private readonly ctrl: WpaCtrl,
    private readonly log?: Logger,
  ) {
    ctrl.onEvent((msg) => this.onWpaEvent(msg));
    ctrl.onGone(() => this.emit({ type: 'radio.gone' }));
  }

  async scan(signal: AbortSignal): Promise<ScanEntry[]> {
    if (this.closed) throw new WpaCtrlError('control socket closed', 'CLOSED');
    // Listen before asking, so a fast CTRL-EVENT-SCAN-RESULTS is not missed.
    const done = this.nextEvent((e) => e.kind === 'scan-results' || e.kind === 'scan-failed', signal);
    try {
      const reply = (await this.ctrl.request('SCAN', signal)).trim();
      if (reply === 'FAIL-BUSY') return await this.scanResults(signal); // a scan is under way: its last results
      if (reply !== 'OK') throw new WpaError('SCAN', reply);
      const ev = await done.promise;
      if (ev.kind === 'scan-failed') throw new WpaError('SCAN', ev.raw);
      return await this.scanResults(signal);
    } finally {
      done.cancel();
    }
  }

  private async scanResults(signal: AbortSignal): Promise<ScanEntry[]> {
    return parseScanResults(await this.ctrl.request('SCAN_RESULTS', signal));
  }

  async connect(net: RadioNetwork, signal: AbortSignal): Promise<void> {
    const bssid = net.bssid?.toLowerCase() ?? null;
    const digest = JSON.stringify([net.ssid, bssid, net.psk === undefined ? null : digestOf(net.psk)]);
    const status = parseStatus(await this.ctrl.request('STATUS', signal));
    const networks = parseListNetworks(await this.ctrl.request('LIST_NETWORKS', signal));
    const existing = networks.find((n) => n.ssid === net.ssid);
    const known = existing !== undefined && this.configured.get(existing.id)?.digest === digest;
    const onIt = existing !== undefined && status.id === existing.id;
    const rightAp = bssid === null || status.bssid === bssid;
    if (known && onIt && rightAp && (status.state === 'COMPLETED' || IN_PROGRESS.has(status.state))) return; // in use: no-op

    let id: number;
    if (existing) id = existing.id;
    else {
      const reply = (await this.ctrl.request('ADD_NETWORK', signal)).trim();
      if (!/^\d+$/.test(reply)) throw new WpaError('ADD_NETWORK', reply);
      id = Number(reply);
    }
    if (!known) {
      this.configured.delete(id);
      await this.expectOk(`SET_NETWORK ${id} ssid ${ssidArg(net.ssid)}`, signal);
      await this.expectOk(`SET_NETWORK ${id} bssid ${bssid ?? 'any'}`, signal);
      if (net.psk !== undefined) {
        await this.expectOk(`SET_NETWORK ${id} key_mgmt WPA-PSK`, signal);
        await this.expectOk(`SET_NETWORK ${id} psk ${/^[0-9a-fA-F]{64}$/.test(net.psk) ? net.psk : `"${net.psk}"`}`, signal);
      } else {
        await this.expectOk(`SET_NETWORK ${id} key_mgmt NONE`, signal);
      }
      this.configured.set(id, { ssid: net.ssid, digest });
    }
    // Already on this network but on another AP than asked: SELECT_NETWORK of the current network does nothing in
    // wpa_supplicant, so leave it first.
    if (onIt && !rightAp && status.state === 'COMPLETED') await this.expectOk('DISCONNECT', signal);
    await this.expectOk(`SELECT_NETWORK ${id}`, signal);
    this.log?.debug({ ifname: this.ifname, ssid: net.ssid, bssid, id }, 'wpa: network selected');
  }

  async disconnect(signal: AbortSignal): Promise<void> {
    await this.expectOk('DISCONNECT', signal);
  }

  async status(signal: AbortSignal): Promise<RadioStatus> {
    const s = parseStatus(await this.ctrl.request('STATUS', signal));
    const out: RadioStatus = { state: s.state };
    if (s.ssid !== undefined) out.ssid = s.ssid;
    if (s.bssid !== undefined) out.bssid = s.bssid;
    if (s.freq !== undefined) out.freq = s.freq;
    return out;
  }

  async signalPoll(signal: AbortSignal): Promise<number | null> {
    return parseSignalPoll(await this.ctrl.request('SIGNAL_POLL', signal))?.rssi ?? null;
  }

  onEvent(listener: (ev: RadioEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sends DETACH (without waiting for its reply: no timers here) and closes the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const ac = new AbortController();
    this.ctrl.request('DETACH', ac.signal).catch(() => {});
    ac.abort();
    this.listeners.clear();
    for (const fail of [...this.waits]) fail(new WpaCtrlError('control socket closed', 'CLOSED'));
    this.wpaListeners.clear();
    await this.ctrl.close();
  }

  /** Sends a command that must answer OK. */
  async expectOk(cmd: string, signal: AbortSignal): Promise<void> {
    const reply = await this.ctrl.request(cmd, signal);
    if (reply.trim() !== 'OK') throw new WpaError(redactCommand(cmd), reply);
  }

  private onWpaEvent(msg: string): void {
    const ev = parseEvent(msg);
    if (!ev) return;
    for (const l of [...this.wpaListeners]) l(ev);
    const out = this.toRadioEvent(ev);
    if (out) this.emit(out);
  }

  private toRadioEvent(ev: WpaEvent): RadioEvent | null {
    switch (ev.kind) {
      case 'connected': {
        const r: RadioEvent = { type: 'radio.connected', bssid: ev.bssid };
        const ssid = ev.id !== undefined ? this.configured.get(ev.id)?.ssid : undefined;
        if (ssid !== undefined) r.ssid = ssid;
        return r;
      }
      case 'disconnected': {
        const r: RadioEvent = { type: 'radio.disconnected' };
        if (ev.bssid !== undefined) r.bssid = ev.bssid;
        if (ev.reason !== undefined) r.reason = ev.reason;
        return r;
      }
      case 'scan-results':
        return { type: 'radio.scan-results' };
      case 'ssid-temp-disabled':
        return { type: 'radio.connect-failed', ssid: ev.ssid, reason: ev.reason || 'TEMP_DISABLED' };
      case 'assoc-reject':
        return { type: 'radio.connect-failed', reason: `ASSOC_REJECT${ev.status_code !== undefined ? ` status_code=${ev.status_code}` : ''}` };
      case 'network-not-found':
        return { type: 'radio.connect-failed', reason: 'NETWORK_NOT_FOUND' };
      case 'terminating':
        return { type: 'radio.gone' };
      default:
        return null;
    }
  }

  private emit(ev: RadioEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(ev);
      } catch (err) {
        this.log?.error({ err, ifname: this.ifname }, 'radio event listener threw');
      }
    }
  }

  /** The next wpa event matching `pred`; rejects when the signal aborts or the socket closes. */
  private nextEvent(pred: (e: WpaEvent) => boolean, signal: AbortSignal): { promise: Promise<WpaEvent>; cancel: () => void } {
    let cancel = () => {};
    const promise = new Promise<WpaEvent>((resolve, reject) => {
      const l = (e: WpaEvent) => {
        if (!pred(e)) return;
        cancel();
        resolve(e);
      };
      const onAbort = () => {
        cancel();
        reject(signal.reason);
      };
      const offGone = this.ctrl.onGone((err) => {
        cancel();
        reject(err);
      });
      const onClose = (err: Error) => {
        cancel();
        reject(err);
      };
      cancel = () => {
        this.waits.delete(onClose);
        this.wpaListeners.delete(l);
        signal.removeEventListener('abort', onAbort);
        offGone();
      };
      this.wpaListeners.add(l);
      this.waits.add(onClose);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    promise.catch(() => {}); // a cancelled wait is nobody's error
    return { promise, cancel };
  }
}

/** A digest that tells whether the psk changed without keeping the psk itself. */
function digestOf(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export { WpaCtrlError };

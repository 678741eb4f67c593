// wpa_supplicant's control socket client: a bound unix datagram socket, requests matched to replies, events apart.
import { unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import unix, { type UnixDgramError, type UnixDgramSocket } from 'unix-dgram';
import type { Logger } from '../../../shared/log.js';
import { isEventMessage } from './wpa.parse.js';

/*
 * Like wpa_ctrl.c: the client binds its own socket file (wpa_supplicant replies to the sender's address), connects
 * to the interface's control socket (/run/wpa_supplicant/wlan0) and sends one command per datagram. wpa_supplicant
 * answers every command it receives exactly once and in order, so replies are matched to requests first in, first
 * out. After ATTACH, events arrive on the same socket; they start with "<N>" (a priority) and a reply never does, so
 * they never count as replies. A request whose caller gave up (AbortSignal) keeps its place in the queue: its late
 * reply is dropped instead of being taken for the next request's. No timers here: the caller's signal bounds waits.
 */

const SUN_PATH_MAX = 107;
let counter = 0;

/** The command as it may be logged or shown: secrets (psk, passwords, keys) replaced by [redacted]. */
export function redactCommand(cmd: string): string {
  return cmd.replace(/^(SET_NETWORK\s+\S+\s+(?:psk|password|sae_password|wep_key\d|private_key_passwd|pin)\s).*$/s, '$1[redacted]');
}

export class WpaCtrlError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'WpaCtrlError';
  }
}

function errnoName(err: UnixDgramError): string {
  const n = typeof err.errno === 'number' ? -err.errno : typeof err.code === 'number' ? -err.code : NaN;
  const hit = Object.entries(osConstants.errno).find(([, v]) => v === n);
  return hit ? hit[0] : String(err.code ?? err.message);
}

interface Pending {
  /** Redacted, for messages. */
  cmd: string;
  resolve?: (reply: string) => void;
  reject?: (err: unknown) => void;
  /** The caller gave up: drop the reply when it comes. */
  dropped: boolean;
}

export interface WpaCtrlOptions {
  /** The interface's control socket, e.g. /run/wpa_supplicant/wlan0. */
  ctrlPath: string;
  /** Where this client's own socket file goes (default: the OS temp dir). */
  clientDir?: string;
  log?: Logger;
}

export class WpaCtrl {
  readonly ctrlPath: string;
  readonly localPath: string;
  private readonly sock: UnixDgramSocket;
  private readonly queue: Pending[] = [];
  private readonly eventListeners = new Set<(msg: string) => void>();
  private readonly goneListeners = new Set<(err: Error) => void>();
  private closed = false;
  private readonly log: Logger | undefined;

  /** Binds a client socket and connects it to `ctrlPath`; throws a WpaCtrlError naming the path when it cannot. */
  static open(opts: WpaCtrlOptions): WpaCtrl {
    return new WpaCtrl(opts);
  }

  private constructor(opts: WpaCtrlOptions) {
    this.ctrlPath = opts.ctrlPath;
    this.log = opts.log;
    this.localPath = join(opts.clientDir ?? tmpdir(), `roamlink_wpa_${process.pid}-${++counter}`);
    if (Buffer.byteLength(this.localPath) > SUN_PATH_MAX) throw new WpaCtrlError(`client socket path too long for a unix socket: ${this.localPath}`);
    if (Buffer.byteLength(this.ctrlPath) > SUN_PATH_MAX) throw new WpaCtrlError(`control socket path too long for a unix socket: ${this.ctrlPath}`);
    removeFile(this.localPath);
    this.sock = unix.createSocket('unix_dgram');
    let failure: UnixDgramError | undefined;
    const onSetupError = (err: UnixDgramError) => (failure = err);
    this.sock.on('error', onSetupError);
    this.sock.bind(this.localPath);
    if (failure) {
      this.sock.close();
      throw new WpaCtrlError(`cannot bind ${this.localPath}: ${errnoName(failure)}`, errnoName(failure));
    }
    this.sock.connect(this.ctrlPath);
    if (failure) {
      this.sock.close();
      removeFile(this.localPath);
      throw new WpaCtrlError(`cannot reach wpa_supplicant at ${this.ctrlPath}: ${errnoName(failure)}`, errnoName(failure));
    }
    this.sock.removeListener('error', onSetupError);
    this.sock.on('error', (err) => this.log?.warn({ err: errnoName(err), ctrl: this.ctrlPath }, 'wpa control socket error'));
    this.sock.on('message', (buf) => this.onMessage(buf.toString('utf8')));
  }

  private onMessage(msg: string): void {
    if (isEventMessage(msg)) {
      for (const l of [...this.eventListeners]) {
        try {
          l(msg);
        } catch (err) {
          this.log?.error({ err }, 'wpa event listener threw');
        }
      }
      return;
    }
    const p = this.queue.shift();
    if (!p) {
      this.log?.debug({ ctrl: this.ctrlPath, reply: msg.slice(0, 80) }, 'wpa reply with no request: dropped');
      return;
    }
    if (p.dropped) return;
    p.resolve!(msg);
  }

  /**
   * Sends one command and resolves with wpa_supplicant's reply text as sent (e.g. "OK\n", "FAIL\n", "PONG\n").
   * Rejects when the signal aborts (with its reason), the socket is closed, or wpa_supplicant is gone.
   */
  request(cmd: string, signal: AbortSignal): Promise<string> {
    const shown = redactCommand(cmd);
    if (this.closed) return Promise.reject(new WpaCtrlError(`${shown}: control socket closed`, 'CLOSED'));
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<string>((resolve, reject) => {
      const p: Pending = { cmd: shown, dropped: false };
      const onAbort = () => {
        p.dropped = true;
        reject(signal.reason);
      };
      p.resolve = (reply) => {
        signal.removeEventListener('abort', onAbort);
        resolve(reply);
      };
      p.reject = (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      };
      let sendErr: UnixDgramError | undefined;
      this.sock.send(Buffer.from(cmd, 'utf8'), (err) => (sendErr = err));
      if (sendErr) {
        const name = errnoName(sendErr);
        const err = new WpaCtrlError(`${shown}: cannot send to ${this.ctrlPath}: ${name}`, name);
        reject(err);
        if (name === 'ECONNREFUSED' || name === 'ENOENT' || name === 'ENOTCONN') this.gone(err);
        return;
      }
      this.log?.trace({ ctrl: this.ctrlPath, cmd: shown }, 'wpa request');
      this.queue.push(p);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Subscribes to event messages (raw "<N>…" text); returns the unsubscribe function. */
  onEvent(listener: (msg: string) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Called once when wpa_supplicant is found gone (its socket refuses): pending requests are failed. */
  onGone(listener: (err: Error) => void): () => void {
    this.goneListeners.add(listener);
    return () => this.goneListeners.delete(listener);
  }

  private gone(err: Error): void {
    this.failPending(err);
    for (const l of [...this.goneListeners]) l(err);
  }

  private failPending(err: Error): void {
    for (const p of this.queue.splice(0)) if (!p.dropped) p.reject!(err);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Closes the socket and removes its file; pending requests fail. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failPending(new WpaCtrlError('control socket closed', 'CLOSED'));
    this.eventListeners.clear();
    this.goneListeners.clear();
    try {
      this.sock.close();
    } catch {
      // already closed
    }
    removeFile(this.localPath);
  }
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there
  }
}

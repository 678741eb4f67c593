// sd_notify for the daemons under systemd: READY=1 once up, WATCHDOG=1 on systemd's interval, STOPPING=1; a no-op elsewhere.
//
// Transport: one datagram per message from the daemon's own process to $NOTIFY_SOCKET, through the `unix-dgram`
// package (Node has no unix datagram sockets). Sent from the main PID, so the units can say NotifyAccess=main:
// `systemd-notify` from a child would need NotifyAccess=all, and before systemd 246 it raced its own exit (the manager
// could not tell which unit a dead sender belonged to). Abstract sockets ("@…") are not supported by unix-dgram: system
// units get a path (/run/systemd/notify), so that is reported through onError and the notifier stays silent.
import { createRequire } from 'node:module';

/** The three variables systemd sets for a Type=notify service with WatchdogSec=. */
export interface SdEnv {
  NOTIFY_SOCKET?: string;
  WATCHDOG_USEC?: string;
  WATCHDOG_PID?: string;
}

/** Sends one message (e.g. "READY=1\nSTATUS=up"); throws on failure. */
export type SdSend = (message: string) => void;

export interface SdTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface SdNotifyOptions {
  /** Where NOTIFY_SOCKET/WATCHDOG_* come from; default process.env (then removed from it, so children don't inherit them). */
  env?: SdEnv & Record<string, string | undefined>;
  /** This process's PID (WATCHDOG_PID names who must ping). Default process.pid. */
  pid?: number;
  /** STATUS= text sent with READY=1 (`systemctl status` shows it). */
  status?: string;
  /** Checked before each WATCHDOG=1: while it returns false no ping goes out, and systemd restarts the daemon after WatchdogSec. */
  healthy?: () => boolean;
  /** Called for each failed send or an unusable NOTIFY_SOCKET; the daemon logs it. Default: ignore. */
  onError?: (err: Error) => void;
  /** Tests: the transport and the timers. */
  send?: SdSend;
  timers?: SdTimers;
}

export interface SdNotifier {
  /** True when systemd gave a notify socket (the daemon runs as a Type=notify unit). */
  readonly active: boolean;
  /** The ping interval in ms (half of WATCHDOG_USEC), or null when there is no watchdog for this process. */
  readonly watchdogMs: number | null;
  /** Sends STATUS=text. */
  status(text: string): void;
  /** Sends STOPPING=1 and stops the watchdog pings. Safe to call twice. */
  stopping(): void;
}

/** The watchdog ping interval: half of WATCHDOG_USEC (what sd_watchdog_enabled advises), or null (pure). */
export function watchdogIntervalMs(env: SdEnv, pid: number): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isSafeInteger(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(1, Math.floor(usec / 2000));
}

/** The notify socket's path, null when there is none, or an error for what unix-dgram cannot reach (pure). */
export function notifySocketPath(env: SdEnv): string | null | Error {
  const s = env.NOTIFY_SOCKET;
  if (!s) return null;
  if (s.startsWith('@')) return new Error(`NOTIFY_SOCKET ${s} is an abstract socket, which unix-dgram cannot address; no sd_notify`);
  if (!s.startsWith('/')) return new Error(`NOTIFY_SOCKET ${s} is not an absolute path; no sd_notify`);
  return s;
}

interface UnixDgramModule {
  createSocket(type: 'unix_dgram'): {
    send(buf: Buffer, offset: number, length: number, path: string, cb: (err?: Error) => void): void;
    on(event: 'error', fn: (err: Error) => void): unknown;
    close(): void;
  };
}

/**
 * A sender: one unbound unix datagram socket per message, closed at once (a few messages a minute; an open socket would
 * keep the event loop alive). The native module is loaded on first use: a daemon outside systemd never loads it.
 */
function unixDgramSender(path: string): SdSend {
  return (message) => {
    const unix = createRequire(import.meta.url)('unix-dgram') as UnixDgramModule;
    const sock = unix.createSocket('unix_dgram');
    sock.on('error', () => {}); // failures are reported through the send callback
    const buf = Buffer.from(message, 'utf8');
    let failure: Error | undefined;
    try {
      // unix-dgram calls back synchronously: an errno, or 'congestion' when the datagram was not queued.
      sock.send(buf, 0, buf.length, path, (err) => (failure = err));
    } finally {
      sock.close();
    }
    if (failure) throw new Error(`sd_notify to ${path}: ${String((failure as { code?: unknown }).code ?? failure.message)}`);
  };
}

/**
 * Tells systemd the daemon is up (READY=1, with STATUS= if given) and starts the watchdog pings when WatchdogSec= is set.
 * Call it once the daemon serves; call stopping() when it starts shutting down. Outside systemd it does nothing.
 */
export function startSdNotify(opts: SdNotifyOptions = {}): SdNotifier {
  const env = opts.env ?? (process.env as SdEnv & Record<string, string | undefined>);
  const pid = opts.pid ?? process.pid;
  const onError = opts.onError ?? (() => {});
  const timers: SdTimers = opts.timers ?? {
    setInterval: (fn, ms) => setInterval(fn, ms).unref(),
    clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
  };
  const target = notifySocketPath(env);
  const watchdogMs = target === null || target instanceof Error ? null : watchdogIntervalMs(env, pid);
  if (!opts.env) {
    // Like sd_notify(unset_environment=1): children (wireguard-go, udhcpc) must not talk to systemd for us.
    delete process.env.NOTIFY_SOCKET;
    delete process.env.WATCHDOG_USEC;
    delete process.env.WATCHDOG_PID;
  }
  if (target instanceof Error) onError(target);
  if (target === null || target instanceof Error) {
    return { active: false, watchdogMs: null, status() {}, stopping() {} };
  }

  const send = opts.send ?? unixDgramSender(target);
  const notify = (message: string) => {
    try {
      send(message);
    } catch (err) {
      onError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ');

  notify(opts.status ? `READY=1\nSTATUS=${oneLine(opts.status)}` : 'READY=1');
  let timer: unknown = null;
  if (watchdogMs !== null) {
    timer = timers.setInterval(() => {
      if (!opts.healthy || opts.healthy()) notify('WATCHDOG=1');
    }, watchdogMs);
  }
  let stopped = false;
  return {
    active: true,
    watchdogMs,
    status: (text) => notify(`STATUS=${oneLine(text)}`),
    stopping() {
      if (stopped) return;
      stopped = true;
      if (timer !== null) timers.clearInterval(timer);
      notify('STOPPING=1');
    },
  };
}

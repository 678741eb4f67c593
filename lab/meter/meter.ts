// The traffic meter: sends paced, sequence-numbered UDP datagrams to one peer and logs the peer's as they arrive.
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { wallOrigin } from './clock.js';
import { defaultMaxBurst, dueTime, paceStep, type Pace } from './pacer.js';
import { encodeDatagram, decodeDatagram, RxRecorder, type MeterResult } from './result.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface MeterOptions {
  bind: HostPort;
  /** The only address the meter ever sends to. */
  peer: HostPort;
  pps: number;
  durationMs: number;
  /** false: only receive. */
  send: boolean;
  /**
   * Epoch ms when sending starts (both meters of a run get the same); default: as soon as bound. A promise: known only
   * once the meter listens (the lab starts its meters early and says when to start once the tunnel carries traffic);
   * what arrives before is kept.
   */
  startAtMs?: number | Promise<number>;
  /** Both meters of a run get the same id; datagrams with another are counted as strays and ignored. */
  runId: number;
  /** How long to keep receiving after the schedule's end. */
  drainMs: number;
  /**
   * How many datagrams the peer sends, when known: once every one of them is in and this meter's own sending is done,
   * the drain ends COMPLETE_GRACE_MS later instead of after drainMs (a run that lost nothing waits no longer).
   */
  expectRx?: number;
  maxBurst?: number;
  /** Keep each arrival's one-way delay (rx.delay_us). */
  delays?: boolean;
  /** Aborting stops the meter early; the result then says stopped: "signal". */
  signal?: AbortSignal;
  /** Called once the socket is bound, before anything is sent. */
  onListening?: (addr: HostPort) => void;
}

/** Epoch ms with sub-ms precision, on the clock every process of the machine shares (clock.ts). */
let origin: number | null = null;
export function nowMs(): number {
  origin ??= wallOrigin({ wall: Date.now, mono: () => performance.now() }).origin;
  return origin + performance.now();
}

/** "10.0.0.1:5000" or "[fd00::1]:5000". */
export function parseHostPort(s: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!host || !isIP(host) || !(port > 0 && port < 65536)) throw new Error(`not an ADDR:PORT: "${s}"`);
  return { host, port };
}

export function formatHostPort(a: HostPort): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * How long a meter keeps listening once it has every datagram its peer sends: the lab's links add at most 25±8 ms one
 * way (shared/link.ts, LTE's preset), so a copy through the slower of two paths comes well within it.
 */
export const COMPLETE_GRACE_MS = 250;

/** Runs one meter to its end (or until aborted) and returns what it sent and received. */
export async function runMeter(o: MeterOptions): Promise<MeterResult> {
  const sock = dgram.createSocket({ type: isIP(o.bind.host) === 6 ? 'udp6' : 'udp4', recvBufferSize: 1 << 20 });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(o.bind.port, o.bind.host, () => {
      sock.off('error', reject);
      resolve();
    });
  });

  // Arrivals before the start time is known (the peer told first) are kept and recorded once it is.
  let rx: RxRecorder | null = null;
  const early: Array<{ msg: Buffer; at: number }> = [];
  const receive = (msg: Buffer, at: number) => {
    const d = decodeDatagram(msg, o.runId);
    if (d) rx!.add(d.seq, at, d.sentMs);
    else rx!.stray++;
    if (draining && complete()) endSoon();
  };
  let draining = false;
  let ending = false;
  const complete = () => o.expectRx !== undefined && rx !== null && rx.received >= o.expectRx;
  sock.on('message', (msg) => {
    const at = nowMs();
    if (rx) receive(msg, at);
    else early.push({ msg, at });
  });
  let sendErrors = 0;
  // ICMP errors (e.g. the peer not listening yet) must not end the run.
  sock.on('error', () => sendErrors++);
  o.onListening?.(o.bind);

  let timer: NodeJS.Timeout | undefined;
  let finish!: (how: 'done' | 'signal') => void;
  const finished = new Promise<'done' | 'signal'>((resolve) => (finish = resolve));
  const onAbort = () => finish('signal');
  if (o.signal?.aborted) onAbort();
  o.signal?.addEventListener('abort', onAbort, { once: true });

  // Stopped before it was told when to start: it ends at once, having sent nothing.
  const startAt = await Promise.race([Promise.resolve(o.startAtMs), finished.then(() => undefined)]);
  const t0 = startAt ?? nowMs();
  const total = o.send ? Math.round((o.pps * o.durationMs) / 1000) : 0;
  const pace: Pace = { t0, pps: o.pps, total, maxBurst: o.maxBurst ?? defaultMaxBurst(o.pps) };
  rx = new RxRecorder(t0, o.delays ?? false);
  for (const e of early.splice(0)) receive(e.msg, e.at);
  const tx = { planned: total, sent: 0, first_ms: null as number | null, last_ms: null as number | null, lag_max_ms: 0, errors: sendErrors };
  sock.removeAllListeners('error');
  sock.on('error', () => tx.errors++);

  const drainAfter = (endMs: number) => {
    draining = true;
    drainEnd = endMs + o.drainMs;
    timer = setTimeout(() => finish('done'), Math.max(0, drainEnd - nowMs()));
    if (complete()) endSoon();
  };
  // Everything the peer sends is in: late duplicates (a copy through a slower path) still have COMPLETE_GRACE_MS, and
  // a meter that only receives still waits for the schedule's end.
  let drainEnd = Infinity;
  const endSoon = () => {
    if (ending) return;
    ending = true;
    clearTimeout(timer);
    const at = Math.min(drainEnd, Math.max(scheduleEnd, nowMs()) + COMPLETE_GRACE_MS);
    timer = setTimeout(() => finish('done'), Math.max(0, at - nowMs()));
  };
  const scheduleEnd = t0 + o.durationMs;
  let next = 0;
  const tick = () => {
    const now = nowMs();
    const step = paceStep(pace, next, now);
    for (; next < step.end; next++) {
      const sentAt = nowMs();
      sock.send(encodeDatagram(o.runId, next, sentAt), o.peer.port, o.peer.host, (err) => {
        if (err) tx.errors++;
      });
      tx.sent++;
      tx.first_ms ??= sentAt;
      tx.last_ms = sentAt;
      tx.lag_max_ms = Math.max(tx.lag_max_ms, sentAt - dueTime(pace, next));
    }
    if (step.wakeAt === null) drainAfter(Math.max(scheduleEnd, nowMs()));
    else timer = setTimeout(tick, Math.max(0, step.wakeAt - nowMs()));
  };
  if (total > 0) timer = setTimeout(tick, Math.max(0, t0 - nowMs()));
  else drainAfter(scheduleEnd);

  const stopped = await finished;
  clearTimeout(timer);
  o.signal?.removeEventListener('abort', onAbort);
  await new Promise<void>((resolve) => sock.close(() => resolve()));
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return {
    meter: 1,
    run_id: o.runId,
    bind: formatHostPort(o.bind),
    peer: formatHostPort(o.peer),
    pps: o.pps,
    duration_ms: o.durationMs,
    t0_ms: r3(t0),
    stopped,
    tx: { ...tx, first_ms: tx.first_ms === null ? null : r3(tx.first_ms), last_ms: tx.last_ms === null ? null : r3(tx.last_ms), lag_max_ms: r3(Math.max(0, tx.lag_max_ms)) },
    rx: rx.result(),
  };
}

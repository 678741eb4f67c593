// The one clock of both daemons: monotonic time for durations and order, wall time for stamps, timers for waiting.
// Everything that waits or stamps takes a Clock; the daemons hand in realClock, tests a SimClock they move by hand.
import { randomUUID } from 'node:crypto';

/** Waiting: calls `fn` once after `ms`. The only way shipping, sync and reconcile loops wait. */
export interface Timer {
  /** Calls `fn` once after `ms`; returns a handle for clear(). */
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface Clock extends Timer {
  /**
   * Monotonic ms on this process's timeline: never steps, never goes back. For durations, timeouts, hold-downs and
   * "how long ago". Meaningless across processes: pair it with `timeline`.
   */
  now(): number;
  /**
   * Wall-clock ms since the epoch: the system's clock, as `Date.now()`. It follows an NTP step (forward or back), so
   * an event stamped after the vehicle's clock was set right carries the right time, and the heartbeat and the
   * events carry the same clock, from which HQ learns the offset. Never use it for a duration.
   */
  wallNow(): number;
  /** Names the timeline `now()` counts on (one per process): HQ relates two `now()`s only when their timelines match. */
  readonly timeline: string;
}

/**
 * The daemons' clock. `now` is performance.now() (CLOCK_MONOTONIC since the process started). `wallNow` is
 * Date.now(), deliberately not performance.timeOrigin + performance.now(): that sum is the wall time at process
 * start plus elapsed time, so it does not follow an NTP step. A vehicle without a battery-backed clock that boots in
 * 2023 and is set to 2026 by NTP a minute after the agent started would stamp 2023 on every event until the agent
 * restarts. Date.now() stamps the right time from the step on; what was stamped before is corrected by HQ from the
 * monotonic `now` each event also carries (concentrator/store/events/time.ts).
 */
export const realClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  timeline: randomUUID(),
  set(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref(); // a pending wait never keeps a process alive on its own
    return t;
  },
  clear(h) {
    clearTimeout(h as NodeJS.Timeout);
  },
};

export interface SimClockOptions {
  /** Monotonic start (ms); default 0. */
  now?: number;
  /** Wall clock at the start (ms since the epoch); default 2026-12-01T00:00:00Z. */
  wall?: number;
  /** Default: a fresh UUID (a new process). */
  timeline?: string;
}

/**
 * A clock for tests: nothing moves until advance(); the wall clock can be stepped (an NTP step) without moving the
 * monotonic one. Also has XState's and the AT engine's setTimeout/clearTimeout shape, so one SimClock drives them all.
 */
export class SimClock implements Clock {
  private t: number;
  /** wallNow() - now(): changed only by stepWall. */
  private wallOffset: number;
  readonly timeline: string;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  constructor(o: SimClockOptions = {}) {
    this.t = o.now ?? 0;
    this.wallOffset = (o.wall ?? Date.UTC(2026, 11, 1)) - this.t;
    this.timeline = o.timeline ?? randomUUID();
  }

  now(): number {
    return this.t;
  }

  wallNow(): number {
    return this.t + this.wallOffset;
  }

  /** The wall clock jumps by `ms` (an NTP step; negative: backwards); monotonic time and timers do not move. */
  stepWall(ms: number): void {
    this.wallOffset += ms;
  }

  set(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clear(h: unknown): void {
    this.pending.delete(h as number);
  }

  setTimeout(fn: () => void, ms: number): unknown {
    return this.set(fn, ms);
  }

  clearTimeout(h: unknown): void {
    this.clear(h);
  }

  /** Delays still pending, soonest first (ms from now). */
  delays(): number[] {
    return [...this.pending.values()].map((p) => p.at - this.t).sort((a, b) => a - b);
  }

  /** How many timers are armed. */
  get armed(): number {
    return this.pending.size;
  }

  /**
   * The earliest timer due at or before `until` (the first armed among equal times), removed from the queue, with the
   * clock moved to its time; null when none is. For a caller that does its own work between timers (the drive replay);
   * advance() is the usual way.
   */
  takeDue(until: number): (() => void) | null {
    let next: [number, { at: number; fn: () => void }] | undefined;
    for (const e of this.pending) if (e[1].at <= until && (!next || e[1].at < next[1].at)) next = e;
    if (!next) return null;
    this.pending.delete(next[0]);
    this.t = next[1].at;
    return next[1].fn;
  }

  /** Moves the clock to `t` without firing anything (never back): after takeDue() has fired what was due. */
  moveTo(t: number): void {
    this.t = Math.max(this.t, t);
  }

  /** Moves time forward by `ms`, firing what falls due in order, synchronously (timers armed meanwhile too). */
  advanceSync(ms: number): void {
    const until = this.t + ms;
    for (let fn = this.takeDue(until); fn; fn = this.takeDue(until)) fn();
    this.t = until;
  }

  /** Moves time forward by `ms`, firing what falls due in order; awaits the promise callbacks fired timers started. */
  async advance(ms: number): Promise<void> {
    const until = this.t + ms;
    for (let fn = this.takeDue(until); fn; fn = this.takeDue(until)) {
      fn();
      await settle();
    }
    this.t = until;
    await settle();
  }
}

/** Lets pending promise callbacks and immediates run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

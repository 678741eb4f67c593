// One direction of an emulated link as pure logic: which packets it drops and when each of the others leaves.
import type { LinkParams } from '../../shared/link.js';

/*
 * The delay's random part is a smooth process: a normal target is drawn every `period` ms and the offset moves
 * linearly from one target to the next. Between points the offset is (1-f)·a + f·b with a, b ~ N(0, s²), whose
 * variance over f uniform in [0, 1] is s²·2/3: targets are drawn with s = jitter·√1.5, so the delay's standard
 * deviation is the jitter asked for. The period is long enough (8 standard deviations of the jitter, at least 10 ms)
 * that the delay changes by less than a ms per ms almost always, so packets keep their order by themselves; the
 * rare one that would overtake waits for the one before (radio links deliver in order). Delays below 0 are 0.
 */
export const MIN_PERIOD_MS = 10;
const SPREAD = Math.sqrt(1.5);

export function jitterPeriodMs(jitterMs: number): number {
  return Math.max(MIN_PERIOD_MS, 8 * jitterMs);
}

/** A standard normal deviate from two uniform ones (Box-Muller). */
export function normal(rand: () => number): number {
  const u = 1 - rand(); // (0, 1]
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

export interface DirectionCounts {
  /** Packets handed on, and dropped by the loss asked for. */
  forwarded: number;
  dropped: number;
}

export class LinkDirection {
  private p: LinkParams = { delay_ms: 0, jitter_ms: 0, loss: 0, rate_mbit: null };
  private segStart = -Infinity;
  private segEnd = -Infinity;
  private from = 0;
  private to = 0;
  private lastDue = -Infinity;
  readonly counts: DirectionCounts = { forwarded: 0, dropped: 0 };

  constructor(private readonly rand: () => number) {}

  get params(): LinkParams {
    return this.p;
  }

  /** A new setting from now on (a changed jitter starts its process afresh). */
  set(p: LinkParams): void {
    if (p.jitter_ms !== this.p.jitter_ms) this.segEnd = -Infinity;
    this.p = { ...p };
  }

  /** The random part of the delay at nowMs (0 without jitter). */
  offsetAt(nowMs: number): number {
    const j = this.p.jitter_ms;
    if (j <= 0) return 0;
    const period = jitterPeriodMs(j);
    const draw = () => normal(this.rand) * j * SPREAD;
    if (nowMs >= this.segEnd + period) {
      // Idle for more than a period (or just set): start afresh at now.
      this.segStart = nowMs;
      this.segEnd = nowMs + period;
      this.from = draw();
      this.to = draw();
    }
    while (nowMs >= this.segEnd) {
      this.segStart = this.segEnd;
      this.segEnd += period;
      this.from = this.to;
      this.to = draw();
    }
    const f = (nowMs - this.segStart) / (this.segEnd - this.segStart);
    return this.from + (this.to - this.from) * f;
  }

  /** A packet arrives at nowMs: null when the link drops it, else when it leaves (never before the one before it). */
  admit(nowMs: number): number | null {
    if (this.p.loss > 0 && this.rand() < this.p.loss) {
      this.counts.dropped++;
      return null;
    }
    const delay = Math.max(0, this.p.delay_ms + this.offsetAt(nowMs));
    const due = Math.max(nowMs + delay, this.lastDue);
    this.lastDue = due;
    this.counts.forwarded++;
    return due;
  }
}

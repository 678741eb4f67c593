// The concentrator's periodic reconcile: a pass every interval, and a failed pass retried sooner (1 s, doubling, up to
// the interval), so a revocation whose peer removal failed, or a change made while the daemon did not answer, is
// applied without waiting for a SIGHUP or a restart.
import type { Logger } from '../../shared/log.js';
import type { Timer } from '../../shared/clock.js';
import type { ReconcileResult } from './reconciler.js';

/** The first retry after a failed pass (ms); doubled per failure in a row, never beyond the interval. */
export const RETRY_FIRST_MS = 1000;

/** When the next pass runs after one that was `ok` or the `failures`-th failure in a row. Pure. */
export function nextDelay(ok: boolean, failures: number, intervalMs: number): number {
  if (ok) return intervalMs;
  return Math.min(intervalMs, RETRY_FIRST_MS * 2 ** Math.max(0, Math.min(failures - 1, 20)));
}

export interface ReconcileLoopOptions {
  reconcile: () => Promise<ReconcileResult>;
  intervalMs: number;
  timer: Timer;
  log: Pick<Logger, 'warn'>;
}

export class ReconcileLoop {
  private handle: unknown = null;
  private failures = 0;
  private stopped = false;

  constructor(private readonly o: ReconcileLoopOptions) {}

  /** Schedules the next pass after a pass whose result was `last` (the daemon's first pass, run before). */
  start(last: ReconcileResult | null): void {
    this.after(last?.ok ?? false);
  }

  /**
   * A pass at once, outside the schedule (the daemon's, once its control socket listens: a change made while it started
   * found no socket to tell); the next periodic pass is counted from its end. Its result, or its error.
   */
  async now(): Promise<ReconcileResult> {
    let r: ReconcileResult;
    try {
      r = await this.o.reconcile();
    } catch (err) {
      this.after(false);
      throw err;
    }
    this.after(r.ok);
    return r;
  }

  stop(): void {
    this.stopped = true;
    if (this.handle !== null) this.o.timer.clear(this.handle);
    this.handle = null;
  }

  private after(ok: boolean): void {
    if (this.stopped) return;
    this.failures = ok ? 0 : this.failures + 1;
    const ms = nextDelay(ok, this.failures, this.o.intervalMs);
    if (!ok) this.o.log.warn({ failures: this.failures, retry_ms: ms }, 'reconcile: not every change applied; retrying');
    // One pass scheduled at a time: a pass run now replaces the one waiting.
    if (this.handle !== null) this.o.timer.clear(this.handle);
    this.handle = this.o.timer.set(() => {
      this.handle = null;
      this.o.reconcile().then(
        (r) => this.after(r.ok),
        () => this.after(false),
      );
    }, ms);
  }
}

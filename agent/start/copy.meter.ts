// What LTE's redundant copies cost: while copies go through an LTE uplink, its copies' nft counter is read every
// interval and what it grew by is spent from its lte_budget (redundancy.ts stops using LTE once the budget is spent).
import { every, type Clock } from '../machines/every.js';
import { copyCounter } from '../drivers/nft/steer.js';
import type { Logger } from '../../shared/log.js';

/** Bytes the counter grew by since the last reading (pure). A counter found lower than before was made anew (the nft
 *  table re-created): all of it is new. The first reading only sets the base. */
export function copyGrowth(prev: number | null, bytes: number): number {
  if (prev === null) return 0;
  return bytes >= prev ? bytes - prev : bytes;
}

export interface CopyMeterDeps {
  /** The copies' counters by name (SteerDriver.copyCounters). */
  read: () => Promise<Record<string, { bytes: number }>>;
  /** Spends bytes from that uplink's lte_budget (the arbiter's uplink.spent). */
  spend: (uplink: string, bytes: number) => void;
  clock: Clock;
  /** How often the counter is read while LTE carries copies (default 1000 ms: at 1000 packets/s, ~150 kB between
   *  readings, which is what the budget may be overrun by once). */
  intervalMs?: number;
  log: Logger;
}

export interface CopyMeter {
  /** Copies now go through this uplink (null: none). Only LTE is metered. */
  via(u: { name: string; kind: string } | null): void;
  stop(): void;
}

export function startCopyMeter(d: CopyMeterDeps): CopyMeter {
  let stopTimer: (() => void) | null = null;
  let last: (() => Promise<void>) | null = null;
  let metered: string | null = null;
  // The timer stopped, then one last reading: the bytes copied since the previous one are spent too.
  const end = () => {
    stopTimer?.();
    stopTimer = null;
    const l = last;
    last = null;
    if (l) void l();
  };
  return {
    via(u) {
      const lte = u?.kind === 'lte' ? u.name : null;
      if (lte === metered) return;
      end();
      metered = lte;
      if (!lte) return;
      const key = copyCounter(lte).slice('copies_'.length);
      let base: number | null = null;
      const reading = async () => {
        try {
          const c = await d.read();
          const bytes = c[key]?.bytes ?? 0;
          const grew = copyGrowth(base, bytes);
          base = bytes;
          if (grew > 0) d.spend(lte, grew);
        } catch (err) {
          d.log.warn({ event: 'redundancy.meter', uplink: lte, err: String(err) }, `could not read the copies' counter of ${lte}: ${String(err)}`);
        }
      };
      last = reading;
      stopTimer = every(d.clock, d.intervalMs ?? 1000, reading);
    },
    // The agent stopping: no last reading (the arbiter is going; at most one interval's bytes go uncounted).
    stop() {
      stopTimer?.();
      stopTimer = null;
      last = null;
      metered = null;
    },
  };
}

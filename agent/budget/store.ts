// The LTE probe budget's spend on the agent's disk (state_dir/lte-budget-<uplink>.json), so a restart keeps the day's.
import { realClock, type Clock } from '../../shared/clock.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import { z } from 'zod';
import { currentUsage, DEFAULT_BUDGET, type BudgetUsage, type ProbeBudget } from '../policy/budget.js';

/**
 * The usage a standby LTE uplink's probes have spent today (agent/policy/budget.ts), kept across agent restarts. The
 * uplink machine stays pure: the agent loads the usage before the machine starts (its input) and hands every change
 * (the machine's onBudget callback) to record(), which writes at most once per minIntervalMs, atomically (a temp file,
 * fsync, rename, fsync of the directory), so a crash leaves the old file or the new one, never half of one.
 */
export interface BudgetStore {
  /**
   * Today's spend as saved: the saved usage when it is of the current budget day, a fresh day when it is older, null
   * when there is none. Never throws: a file that cannot be read, does not validate, or is dated after `now` (the
   * clock went back) is warned about and taken as none.
   */
  load(now: number): BudgetUsage | null;
  /** Notes the usage after a probe: written at once when the last write is minIntervalMs old, else when it is. */
  record(usage: BudgetUsage): void;
  /** Writes a usage not yet on disk now, and cancels the pending write (at stop); idempotent. */
  flush(): void;
}

export interface BudgetStoreOptions {
  /** Where the budget's days start (day_offset_ms); the rest is not needed to read the file. */
  budget?: ProbeBudget;
  /** Writes are at least this far apart (default 60 000): a probe every 2 s need not cost the flash a write (and an
   *  fsync) each; a crash forgets at most a minute of spend, a few kB. */
  minIntervalMs?: number;
  /** Monotonic ms for the spacing of writes, and the timer of a deferred write (default realClock: unref'd timers). */
  clock?: Pick<Clock, 'now' | 'set' | 'clear'>;
  warn?: (msg: string) => void;
}

const FILE_VERSION = 1;

const fileSchema = z.strictObject({
  version: z.literal(FILE_VERSION),
  /** Wall-clock ms: when the budget day of this usage started. */
  day_start: z.number().int().min(0),
  bytes: z.number().int().min(0),
  last_probe_at: z.number().int().min(0).nullable(),
});

/** The file of one uplink's budget in the agent's state_dir (uplink names are interface names: no slash). */
export function budgetPath(stateDir: string, uplink: string): string {
  return join(stateDir, `lte-budget-${uplink}.json`);
}


export function fileBudgetStore(path: string, opts: BudgetStoreOptions = {}): BudgetStore {
  const budget = opts.budget ?? DEFAULT_BUDGET;
  const minInterval = opts.minIntervalMs ?? 60_000;
  const clock = opts.clock ?? realClock;
  const now = () => clock.now();
  const schedule = (fn: () => void, ms: number): (() => void) => {
    const h = clock.set(fn, ms);
    return () => clock.clear(h);
  };
  const warn = opts.warn ?? (() => {});
  /** The newest usage not yet on disk. */
  let pending: BudgetUsage | null = null;
  let lastWriteAt: number | null = null;
  let cancel: (() => void) | null = null;
  /** Set while writes fail, so a full or read-only disk is one warning, not one per probe. */
  let failing = false;

  const write = () => {
    cancel?.();
    cancel = null;
    if (!pending) return;
    const u = pending;
    pending = null;
    lastWriteAt = now();
    try {
      writeFileAtomic(path, `${JSON.stringify({ version: FILE_VERSION, day_start: u.day_start, bytes: u.bytes, last_probe_at: u.last_probe_at })}\n`);
      if (failing) warn(`${path}: written again`);
      failing = false;
    } catch (err) {
      if (!failing) warn(`${path}: cannot write the LTE budget's usage (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); a restart today would count from zero`);
      failing = true;
    }
  };

  return {
    load(wallNow) {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT') warn(`${path}: cannot read the LTE budget's usage (${code ?? (err as Error).message}); starting the day from zero`);
        return null;
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        warn(`${path}: not JSON (${(err as Error).message}); starting the day from zero`);
        return null;
      }
      const r = fileSchema.safeParse(value);
      if (!r.success) {
        const issue = r.error.issues[0];
        warn(`${path}: not an LTE budget usage (${issue?.path.join('.') || 'file'}: ${issue?.message}); starting the day from zero`);
        return null;
      }
      const { day_start, bytes, last_probe_at } = r.data;
      if (day_start > wallNow || (last_probe_at !== null && last_probe_at > wallNow)) {
        warn(`${path}: dated after now (${new Date(Math.max(day_start, last_probe_at ?? 0)).toISOString()}; the clock went back?); starting the day from zero`);
        return null;
      }
      return currentUsage({ day_start, bytes, last_probe_at }, wallNow, budget);
    },
    record(usage) {
      pending = usage;
      if (cancel) return; // a write is due already: it takes the newest usage
      const wait = lastWriteAt === null ? 0 : lastWriteAt + minInterval - now();
      if (wait <= 0) write();
      else cancel = schedule(write, wait);
    },
    flush() {
      write();
    },
  };
}

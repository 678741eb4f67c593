// The LTE standby probe budget (pure): bytes per day, spread evenly over what is left of the day.

/*
 * LTE is costed: while it is on standby, probing it must stay under a daily byte budget (default 5 MB). The budget
 * is spread over the rest of the day: interval = time left / probes left, never under min_interval_ms. A day runs
 * from midnight UTC shifted by day_offset_ms (e.g. +2 h for a carrier billing on UTC+2 days). Only standby probes
 * count: once LTE carries the tunnel, its probes are part of the traffic.
 */

export interface ProbeBudget {
  bytes_per_day: number;
  /** Bytes one probe costs on the carrier's meter: request and reply, with IP/UDP (and tunnel) headers. */
  probe_bytes: number;
  /** Never probe more often than this, however much budget is left. */
  min_interval_ms: number;
  /** Where a day starts, from midnight UTC. */
  day_offset_ms: number;
}

export const DEFAULT_BUDGET: Readonly<ProbeBudget> = Object.freeze({
  bytes_per_day: 5_000_000,
  probe_bytes: 200,
  min_interval_ms: 2000,
  day_offset_ms: 0,
});

/** What has been spent today; the caller keeps it (durably, to survive restarts) and hands it back. */
export interface BudgetUsage {
  day_start: number;
  bytes: number;
  last_probe_at: number | null;
}

export interface BudgetStatus {
  /** May a probe be sent now. */
  may_probe: boolean;
  /** The pace: ms between probes for the rest of the day. */
  interval_ms: number;
  /** When the next probe may go (now or later; the next day's start when the budget is spent). */
  next_at: number;
  remaining_bytes: number;
  day_start: number;
}

const DAY_MS = 86_400_000;

export function dayStart(now: number, budget: ProbeBudget = DEFAULT_BUDGET): number {
  return Math.floor((now - budget.day_offset_ms) / DAY_MS) * DAY_MS + budget.day_offset_ms;
}

/** Today's usage: `usage` if it is from today, else a fresh day (keeping when the last probe went). */
export function currentUsage(usage: BudgetUsage | null, now: number, budget: ProbeBudget = DEFAULT_BUDGET): BudgetUsage {
  const start = dayStart(now, budget);
  if (usage && usage.day_start === start) return usage;
  return { day_start: start, bytes: 0, last_probe_at: usage?.last_probe_at ?? null };
}

export function budgetStatus(usage: BudgetUsage | null, now: number, budget: ProbeBudget = DEFAULT_BUDGET): BudgetStatus {
  const u = currentUsage(usage, now, budget);
  const dayEnd = u.day_start + DAY_MS;
  const remaining = Math.max(0, budget.bytes_per_day - u.bytes);
  const probesLeft = Math.floor(remaining / budget.probe_bytes);
  if (probesLeft === 0) {
    return { may_probe: false, interval_ms: dayEnd - now, next_at: dayEnd, remaining_bytes: remaining, day_start: u.day_start };
  }
  const interval = Math.max(budget.min_interval_ms, Math.ceil((dayEnd - now) / probesLeft));
  const nextAt = u.last_probe_at === null ? now : Math.max(now, u.last_probe_at + interval);
  return { may_probe: nextAt <= now, interval_ms: interval, next_at: nextAt, remaining_bytes: remaining, day_start: u.day_start };
}

/** The usage after a probe that cost `bytes` (use the measured size when known, else budget.probe_bytes). */
export function recordProbe(usage: BudgetUsage | null, bytes: number, now: number, budget: ProbeBudget = DEFAULT_BUDGET): BudgetUsage {
  const u = currentUsage(usage, now, budget);
  return { day_start: u.day_start, bytes: u.bytes + bytes, last_probe_at: now };
}

/** The usage after `bytes` spent on LTE by other than a probe: the redundant copies it carried (agent/start/copy.meter.ts).
 *  They count against the same day's bytes, so that the standby probes' pace slows for them and LTE stops carrying
 *  copies once the day's budget is spent (redundancy.ts). */
export function recordSpend(usage: BudgetUsage | null, bytes: number, now: number, budget: ProbeBudget = DEFAULT_BUDGET): BudgetUsage {
  const u = currentUsage(usage, now, budget);
  return { day_start: u.day_start, bytes: u.bytes + Math.max(0, bytes), last_probe_at: u.last_probe_at };
}

/**
 * May a probe go now out of the pace: the arbiter asks every standby at once when the active goes quiet, to tell the
 * far end's silence from the active's (choose.ts, far-end). Only while the day's bytes allow one more probe and
 * min_interval_ms has passed since the last such ask (`lastAskAt`, wall ms; null: none yet); it is recorded like any
 * other, so the day never spends more than bytes_per_day: what it costs is taken from the pace of the rest of the day
 * (budgetStatus spreads what is left). A paced probe shortly before does not forbid it (2026-12-03, lab, HQ powered
 * off: LTE, the only witness, had been probed at its pace 337 ms before; refused, it gave the arbiter no evidence, and
 * the far end's silence was taken for the active's: a blackhole switch to LTE instead of an HQ failover).
 */
export function mayProbeOutOfPace(usage: BudgetUsage | null, now: number, budget: ProbeBudget = DEFAULT_BUDGET, lastAskAt: number | null = null): boolean {
  const u = currentUsage(usage, now, budget);
  if (budget.bytes_per_day - u.bytes < budget.probe_bytes) return false;
  return lastAskAt === null || now - lastAskAt >= budget.min_interval_ms;
}

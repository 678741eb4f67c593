// When to check the prepaid balance: on a schedule, on demand, and again sooner after a failed check; pure.

export interface BalanceSchedule {
  /** Normal interval between checks, ms. */
  intervalMs: number;
  /** First retry after a failure, doubled each time up to the interval, ms. */
  retryMs: number;
}

export interface BalanceCheckState {
  lastAttemptAt?: number;
  lastSuccessAt?: number;
  /** Failures since the last success. */
  failures: number;
  /** Set by an on-demand request (CLI, SMS STATUS, HQ) not yet served. */
  requested: boolean;
  inFlight: boolean;
}

export const initialBalanceCheck: BalanceCheckState = { failures: 0, requested: false, inFlight: false };

/** Whether a check is due now and, if not, when it will be. */
export function balanceDue(s: BalanceCheckState, p: BalanceSchedule, now: number): { due: boolean; at: number; reason: string } {
  if (s.inFlight) return { due: false, at: Number.POSITIVE_INFINITY, reason: 'in flight' };
  if (s.requested) return { due: true, at: now, reason: 'requested' };
  if (s.lastAttemptAt === undefined) return { due: true, at: now, reason: 'never checked' };
  const wait = s.failures > 0 ? Math.min(p.intervalMs, p.retryMs * 2 ** (s.failures - 1)) : p.intervalMs;
  const at = s.lastAttemptAt + wait;
  return { due: now >= at, at, reason: s.failures > 0 ? `retry after ${s.failures} failure(s)` : 'schedule' };
}

export function balanceStarted(s: BalanceCheckState, now: number): BalanceCheckState {
  return { ...s, inFlight: true, requested: false, lastAttemptAt: now };
}

export function balanceFinished(s: BalanceCheckState, ok: boolean, now: number): BalanceCheckState {
  return ok ? { ...s, inFlight: false, failures: 0, lastSuccessAt: now } : { ...s, inFlight: false, failures: s.failures + 1 };
}

// The meter's pacing, pure: which datagrams are due at a moment, at most a bounded burst, and when to look again.

export interface Pace {
  /** Epoch ms of seq 0's slot; seq i is due at t0 + i × 1000/pps. */
  t0: number;
  pps: number;
  /** pps × duration: the exact number to send. */
  total: number;
  /** At most this many datagrams per tick, however far behind the pacer is. */
  maxBurst: number;
}

/** A burst of 5 ms worth of datagrams, and never fewer than 4: catches up on a late timer without flooding. */
export function defaultMaxBurst(pps: number): number {
  return Math.max(4, Math.ceil(pps / 200));
}

export function dueTime(p: Pace, seq: number): number {
  return p.t0 + (seq * 1000) / p.pps;
}

/**
 * With seqs [0, next) already sent, at time `now`: send seqs [next, end), then look again at `wakeAt`
 * (`now` when still behind; null when all `total` have been sent).
 */
export function paceStep(p: Pace, next: number, now: number): { end: number; wakeAt: number | null } {
  const due = now < p.t0 ? 0 : Math.min(p.total, Math.floor(((now - p.t0) * p.pps) / 1000) + 1);
  const end = Math.max(next, Math.min(due, next + p.maxBurst));
  if (end >= p.total) return { end: p.total, wakeAt: null };
  return { end, wakeAt: end < due ? now : dueTime(p, end) };
}

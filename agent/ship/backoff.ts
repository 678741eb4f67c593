// How long to wait before the next attempt after `attempt` failures in a row (pure: the caller supplies randomness).
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** 0..1: the delay is scaled by a random factor in [1 - jitter, 1], so a fleet does not retry in step after an HQ restart. */
  jitter: number;
}

/**
 * Short by default: HQ is back within seconds of a restart, and an event stored soon after its switch is what the
 * dashboard (and the lab's hq_log) show. The cap keeps retries cheap during hours offline.
 */
export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({ initialMs: 250, maxMs: 2000, factor: 2, jitter: 0.2 });

/** attempt 0 is the first retry. `random` in [0, 1). */
export function backoffDelay(attempt: number, p: BackoffPolicy = DEFAULT_BACKOFF, random = 1): number {
  const base = Math.min(p.maxMs, p.initialMs * p.factor ** Math.max(0, attempt));
  return Math.round(base * (1 - p.jitter * Math.min(1, Math.max(0, random))));
}

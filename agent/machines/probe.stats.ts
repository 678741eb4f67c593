// Probe statistics of one uplink (pure): smoothed RTT, loss over the last probes, when the last reply came.
import type { ProbeStats } from '../policy/choose.js';

/** How many recent probes the loss is measured over (choose.ts: "about the last 20"). */
export const LOSS_WINDOW = 20;
/** RTT smoothing gain, as TCP's SRTT (RFC 6298): 1/8 of each new sample. */
export const RTT_GAIN = 1 / 8;

/** The probe history a machine keeps in its context: plain data. */
export interface ProbeHistory {
  /** Outcomes of the last probes, oldest first (true: answered), at most `window` long. */
  results: boolean[];
  srttMs: number | null;
  lastOkAt: number | null;
  /** Consecutive probes without an answer. */
  misses: number;
}

export const EMPTY_HISTORY: Readonly<ProbeHistory> = Object.freeze({ results: [], srttMs: null, lastOkAt: null, misses: 0 });

/** The history after one probe: answered after `rttMs` at `now`, or lost (rttMs null). */
export function recordProbeResult(h: ProbeHistory, rttMs: number | null, now: number, window = LOSS_WINDOW): ProbeHistory {
  const ok = rttMs !== null;
  const results = [...h.results, ok].slice(-window);
  if (!ok) return { results, srttMs: h.srttMs, lastOkAt: h.lastOkAt, misses: h.misses + 1 };
  const srtt = h.srttMs === null ? rttMs : h.srttMs + RTT_GAIN * (rttMs - h.srttMs);
  return { results, srttMs: Math.round(srtt * 1000) / 1000, lastOkAt: now, misses: 0 };
}

/** Loss over the window: 0 with no probe yet (nothing says it is lossy; `last_ok_at` null says it is unproven). */
export function lossOf(h: ProbeHistory): number {
  if (h.results.length === 0) return 0;
  return h.results.filter((r) => !r).length / h.results.length;
}

/** The policy's view of the history. */
export function probeStatsOf(h: ProbeHistory): ProbeStats {
  return { rtt_ms: h.srttMs, loss: lossOf(h), last_ok_at: h.lastOkAt };
}

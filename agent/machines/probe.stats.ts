// Probe statistics of one uplink (pure): smoothed RTT, loss over the last probes, when the last reply came, and since
// when the probes have gone unanswered.
import type { ProbeStats } from '../policy/choose.js';

/** How many recent probes the loss is measured over (choose.ts: "about the last 20"). */
export const LOSS_WINDOW = 20;
/** RTT smoothing gain, as TCP's SRTT (RFC 6298): 1/8 of each new sample. */
export const RTT_GAIN = 1 / 8;
/** How many recent RTT samples are kept for the path's low RTT (rttLowOf). */
export const RTT_KEPT = 10;

/** The probe history a machine keeps in its context: plain data. */
export interface ProbeHistory {
  /** Outcomes of the last probes, oldest first (true: answered), at most `window` long. */
  results: boolean[];
  srttMs: number | null;
  lastOkAt: number | null;
  /** Consecutive probes without an answer. */
  misses: number;
  /** While misses > 0: when the first of them was given up (the probe timed out or failed to send). */
  failingSince?: number | null;
  /** When each lost probe still in `results` was given up, oldest first. */
  missAt?: number[];
  /** When the last answered probe was sent. */
  lastOkSentAt?: number | null;
  /** The RTTs of the last answered probes (at most RTT_KEPT), oldest first. */
  rtts?: number[];
}

export const EMPTY_HISTORY: Readonly<ProbeHistory> = Object.freeze({ results: [], srttMs: null, lastOkAt: null, misses: 0, failingSince: null, missAt: [] });

/** The history after one probe: answered after `rttMs` at `now`, or lost (rttMs null). */
export function recordProbeResult(h: ProbeHistory, rttMs: number | null, now: number, window = LOSS_WINDOW): ProbeHistory {
  const ok = rttMs !== null;
  const all = [...h.results, ok];
  const results = all.slice(-window);
  // The times of the lost probes still in the window (those that slid out go with them).
  const slidOut = all.slice(0, all.length - results.length).filter((r) => !r).length;
  const kept = (h.missAt ?? []).slice(slidOut);
  if (!ok) {
    return {
      results, srttMs: h.srttMs, lastOkAt: h.lastOkAt, misses: h.misses + 1, failingSince: h.misses > 0 ? (h.failingSince ?? now) : now, missAt: [...kept, now],
      ...(h.lastOkSentAt != null ? { lastOkSentAt: h.lastOkSentAt } : {}), ...(h.rtts ? { rtts: h.rtts } : {}),
    };
  }
  const srtt = h.srttMs === null ? rttMs : h.srttMs + RTT_GAIN * (rttMs - h.srttMs);
  const rtts = [...(h.rtts ?? []), Math.round(rttMs * 1000) / 1000].slice(-RTT_KEPT);
  return { results, srttMs: Math.round(srtt * 1000) / 1000, lastOkAt: now, misses: 0, failingSince: null, missAt: kept, lastOkSentAt: now - rttMs, rtts };
}

/**
 * The path's low RTT: the second lowest of the kept samples (the lowest of fewer than 4), null with none. What the path
 * itself takes, without the agent's own delays: an RTT is timed to when the agent's event loop handles the answer, so
 * on a loaded machine the smoothed RTT grows with the loop's lag (2026-12-04, lab at load 3.5: Wi-Fi probes answered in
 * 8-12 ms had a smoothed RTT of 17-25 ms). One lucky sample does not set it.
 */
export function rttLowOf(rtts: readonly number[] | undefined): number | null {
  if (!rtts || rtts.length === 0) return null;
  const sorted = [...rtts].sort((a, b) => a - b);
  return sorted[sorted.length < 4 ? 0 : 1]!;
}

/**
 * Loss over the window: the probes lost among the last LOSS_WINDOW, as a share of the whole window even before it has
 * filled (0 with no probe yet: nothing says it is lossy; `last_ok_at` null says it is unproven). A share of only those
 * sent so far made the first few probes decide: 3 lost of a healthy Wi-Fi's first 10 (a 2 % link under load) were
 * loss_max's 30 %, a false 'loss' switch in 4 of 22 lab runs of links.yaml (2026-12-04); now they are 15 %, and a path
 * is left for loss only once it has lost 6 probes, as with a full window.
 */
export function lossOf(h: ProbeHistory, window = LOSS_WINDOW): number {
  return h.results.filter((r) => !r).length / Math.max(h.results.length, window);
}

/** The policy's view of the history (`failing` only while the latest probes go unanswered). */
export function probeStatsOf(h: ProbeHistory): ProbeStats {
  const s: ProbeStats = { rtt_ms: h.srttMs, loss: lossOf(h), probes: h.results.length, last_ok_at: h.lastOkAt };
  const low = rttLowOf(h.rtts);
  if (low !== null) s.rtt_low_ms = low;
  if (h.lastOkSentAt != null) s.last_ok_sent_at = h.lastOkSentAt;
  const missAt = h.missAt ?? [];
  if (h.misses > 0 && h.failingSince != null && missAt.length > 0) {
    const run = Math.min(h.misses, missAt.length);
    s.failing = { since: h.failingSince, last_at: missAt[missAt.length - 1]!, lost_before: missAt.slice(0, missAt.length - run) };
    if (run >= 2) s.failing.prev_at = missAt[missAt.length - 2]!;
  }
  return s;
}

// The peers' dead-uplink detection as pure functions of a fault time (bench/handover compares roamlink with them).
//
// mwan3's default tracking (OpenWrt; mwan3track): one ping per round to the track IP, a round every `interval` (10 s),
// each ping waiting up to `timeout` (4 s); `down` (5) failed rounds in a row take the interface down and mwan3 moves
// its traffic. A failing round lasts timeout + interval (mwan3track sleeps the interval after a ping that timed out).
// Not modelled: netifd's ifdown hotplug, which acts at once when the kernel reports the link gone (so on a carrier
// loss the OS sees, mwan3 is faster than its tracking), and its recovery.
//
// The NCM watchdog of the field notes: a loop pinging every 3 s; 3 tries in a row without an answer, then it
// reconnects the modem. Not modelled: the reconnect itself (a bearer dial takes seconds more), the 60 s outer loop.
//
// Both run their loops unsynchronised with the fault: the phase (where in its loop a pinger is when the fault hits)
// is an input, uniform over one period, drawn per fault from a seeded generator so a run is reproducible.

export interface Mwan3Tracking {
  intervalMs: number;
  timeoutMs: number;
  down: number;
}

export const MWAN3_DEFAULT: Readonly<Mwan3Tracking> = Object.freeze({ intervalMs: 10_000, timeoutMs: 4000, down: 5 });

/**
 * ms from the fault until mwan3 declares the interface down. `phase` in [0, 1): how far into the interval the next
 * round starts after the fault. The first failing round starts at phase × interval; each next one timeout + interval
 * later; the down-th one fails `timeout` after it started.
 */
export function mwan3DetectMs(phase: number, t: Mwan3Tracking = MWAN3_DEFAULT): number {
  const first = phase * t.intervalMs;
  return first + (t.down - 1) * (t.timeoutMs + t.intervalMs) + t.timeoutMs;
}

export interface NcmWatchdog {
  everyMs: number;
  tries: number;
}

export const NCM_WATCHDOG: Readonly<NcmWatchdog> = Object.freeze({ everyMs: 3000, tries: 3 });

/**
 * ms from the fault until the watchdog acts: its tries go out every `everyMs` (a try that gets no answer takes the
 * whole slot); the first one after the fault at phase × everyMs; it acts when the `tries`-th one has failed.
 */
export function ncmDetectMs(phase: number, w: NcmWatchdog = NCM_WATCHDOG): number {
  return phase * w.everyMs + w.tries * w.everyMs;
}

/** The seeded generator, re-exported for the benchmarks. */
export { seeded } from '../shared/rng.js';

export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

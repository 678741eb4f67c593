// The peers' dead-uplink detection as pure functions of a fault time (bench/handover compares roamlink with them).
//
// mwan3's default tracking (OpenWrt; mwan3track): one ping per round to the track IP, a round every `interval` (10 s),
// each ping waiting up to `timeout` (4 s); `down` (5) failed rounds in a row take the interface down and mwan3 moves
// its traffic. A failing round lasts timeout + interval (mwan3track sleeps the interval after a ping that timed out).
// Not modelled: netifd's ifdown hotplug, which acts at once when the kernel reports the link gone (so on a carrier
// loss the OS sees, mwan3 is faster than its tracking), and its recovery.
//
// The NCM watchdog of the field notes, as its published shell script runs: a check every 60 s (it sleeps 60 s after
// each check); a check pings the host once (`ping -c 1`, which waits 10 s for an answer that does not come) and
// sleeps 3 s, up to 3 tries; when all 3 failed it reconnects the modem. Not modelled: the reconnect itself (a bearer
// dial takes seconds more), and pings that fail sooner than 10 s (a carrier loss the kernel reports: ARP fails after
// ~3 s). A public script that fits the notes (3 tries 3 s apart per host, a 60 s loop, `/etc/init.d/ncm-network
// start`), run unchanged against blackholes and carrier losses between two namespaces (2026-12-03, by hand: it is not
// ours to commit), reconnected 25-86 s after the fault: blackhole median 61.4 s (6 faults), carrier loss 47.8 s (8);
// the model says 39-99 s, median 69 s (it said 9-12 s before it knew the loop and the ping's wait).
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
  /** How long it sleeps after a check. */
  loopMs: number;
  /** How long one ping waits for its answer, and the sleep after a failed one. */
  pingWaitMs: number;
  everyMs: number;
  tries: number;
}

export const NCM_WATCHDOG: Readonly<NcmWatchdog> = Object.freeze({ loopMs: 60_000, pingWaitMs: 10_000, everyMs: 3000, tries: 3 });

/**
 * ms from the fault until the watchdog acts: its next check starts at phase × loopMs; each of its `tries` pings waits
 * `pingWaitMs` in vain and is followed by `everyMs` of sleep; it acts after the last one.
 */
export function ncmDetectMs(phase: number, w: NcmWatchdog = NCM_WATCHDOG): number {
  return phase * w.loopMs + w.tries * (w.pingWaitMs + w.everyMs);
}

/** The seeded generator, re-exported for the benchmarks. */
export { seeded } from '../shared/rng.js';

export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

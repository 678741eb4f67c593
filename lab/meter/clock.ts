// The meters' shared clock: epoch ms with sub-ms precision. Every meter of a run stamps what it sends and what it
// receives on this clock, in its own process, so one-way delays and gaps are only as right as the processes agree.
//
// The monotonic clock (performance.now) is tied to the wall clock (Date.now, whole ms) at the edge of a Date.now()
// millisecond, not through performance.timeOrigin: that origin is sampled during the process's start-up, and two
// meters started together on a loaded machine disagreed by ~48 ms (one direction's gaps +51 ms, the other's -47 ms in
// one agent-restart run). An edge is only as good as its bracket: a process descheduled between reading the two
// clocks sees the edge late, and its origin is late by as long (2026-12-04 CI, Debian-root lane beside the lab: an
// AP link asked for 10 ms measured 5.6 ms one way, the sender's origin ~4.4 ms late). So each edge is bracketed by
// performance.now() on both sides and the narrowest of a few edges is kept.

/** An edge whose bracket is at most this wide (ms) is taken at once. */
export const TIGHT_MS = 0.05;
/** At most this many edges (about a ms each) are looked at. */
export const MAX_EDGES = 8;

export interface Clocks {
  /** Whole epoch ms (Date.now). */
  wall: () => number;
  /** Monotonic ms with sub-ms precision (performance.now). */
  mono: () => number;
}

export interface Origin {
  /** Add to mono() for epoch ms. */
  origin: number;
  /** How uncertain the tie is: the width (ms) of the bracket the edge was found in. */
  widthMs: number;
  edges: number;
}

/**
 * Ties mono to wall. The wall clock turned from `prev` to `d` after it was read as `prev` (in [before', after']) and
 * before it was read as `d` (in [before, after]): the edge lies in [before', after], taken at its middle.
 */
export function wallOrigin(c: Clocks, tightMs = TIGHT_MS, maxEdges = MAX_EDGES): Origin {
  let best: Origin | null = null;
  let prevBefore = c.mono();
  let prev = c.wall();
  for (let edges = 0; edges < maxEdges; ) {
    const before = c.mono();
    const d = c.wall();
    const after = c.mono();
    if (d !== prev) {
      edges++;
      const width = after - prevBefore;
      const at = (prevBefore + after) / 2;
      if (!best || width < best.widthMs) best = { origin: d - at, widthMs: width, edges };
      if (width <= tightMs) break;
    }
    prevBefore = before;
    prev = d;
  }
  return best!;
}

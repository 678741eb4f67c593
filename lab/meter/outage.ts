// A fault's outage from the meters' records (pure): from the moment the lab applied the fault until traffic arrives
// again after the packets the fault cost, per direction.
import type { Direction } from './analyze.js';
import { arrivalsOf } from './result.js';

/*
 * Definition: F is when the lab started applying the fault (taken just BEFORE its command, so the command's own few ms
 * count against the agent). The fault's loss is the first cluster of lost datagrams scheduled at or after F (within
 * the horizon), a cluster running on while the next lost datagram is scheduled within CLUSTER_MS of the previous one.
 * The outage is E − F, where E is the earliest arrival of a datagram scheduled after the cluster's last one: the first
 * packet through once the fault cut the old path and the agent moved the tunnel. (Not "the first packet sent after
 * F": the cut itself lands a few ms after F, and packets sent in between still arrive over the old path; not "the
 * longest silence": the lab's own scheduling hiccups of ~20 ms would pass for outages of faults that cost nothing.)
 * A fault that costs nothing: the first arrival of a datagram scheduled at or after F, about the nominal spacing.
 * Nothing arriving after: null.
 */

export const CLUSTER_MS = 50;

export interface Outage {
  /** The worst direction (null when a direction got nothing through within the horizon). */
  outage_ms: number | null;
  by_direction: Array<{ name: string; outage_ms: number | null; lost: number }>;
}

export interface ArrivalIndex {
  name: string;
  /** Scheduled send time of seq 0 (epoch ms) and the spacing. */
  t0: number;
  spacing: number;
  /** First arrival (epoch ms) of each seq the sender sent; NaN: lost. */
  arrival: Float64Array;
}

/** Indexes one direction's arrivals once, for many faults. */
export function indexDirection(d: Direction): ArrivalIndex {
  const arrival = new Float64Array(d.sender.tx.sent).fill(NaN);
  for (const a of arrivalsOf(d.receiver.rx, d.receiver.t0_ms)) {
    if (a.seq >= arrival.length) continue;
    if (Number.isNaN(arrival[a.seq]!) || a.atMs < arrival[a.seq]!) arrival[a.seq] = a.atMs;
  }
  return { name: d.name, t0: d.sender.t0_ms, spacing: 1000 / d.sender.pps, arrival };
}

/** The outage of a fault applied at `faultAt` (epoch ms), looking no further than `horizon` (epoch ms). */
export function outageAfter(dirs: readonly ArrivalIndex[], faultAt: number, horizon = faultAt + 10_000): Outage {
  const by = dirs.map((d) => {
    const n = d.arrival.length;
    const first = Math.max(0, Math.ceil((faultAt - d.t0) / d.spacing));
    const last = Math.min(n - 1, Math.floor((horizon - d.t0) / d.spacing));
    // The first cluster of losses from F on.
    let lostFrom = -1;
    let lostTo = -1;
    let lost = 0;
    for (let s = first; s <= last; s++) {
      if (!Number.isNaN(d.arrival[s]!)) continue;
      if (lostFrom < 0) lostFrom = s;
      else if ((s - lostTo) * d.spacing > CLUSTER_MS) break;
      lostTo = s;
      lost++;
    }
    const after = lostFrom < 0 ? first : lostTo + 1;
    // The earliest arrival of what was sent after the loss (a later seq may overtake an earlier one: look ahead a bit).
    let earliest = Infinity;
    for (let s = after; s < n && s <= after + 64; s++) {
      const a = d.arrival[s]!;
      if (!Number.isNaN(a) && a < earliest) earliest = a;
    }
    return { name: d.name, outage_ms: Number.isFinite(earliest) ? Math.round((earliest - faultAt) * 10) / 10 : null, lost };
  });
  const worst = by.some((b) => b.outage_ms === null) ? null : Math.max(0, ...by.map((b) => b.outage_ms!));
  return { outage_ms: by.length ? worst : null, by_direction: by };
}

// From the meters' results and the switches, pure: the report's traffic block and each switch's gap and loss.
import type { Traffic } from '../../shared/report.js';
import { arrivalsOf, type MeterResult } from './result.js';

/*
 * Definitions (all times in ms relative to the run start, on the machine's one clock):
 * - A receiver's gaps are the intervals without a new arrival between the sender's first send and its last one:
 *   first send → first arrival, arrival → next arrival, last arrival → last send (when later). Idle time before the
 *   run and after it is not a gap, but losing the first or last packets is. A gap includes the nominal spacing
 *   (1000/pps), so at 1000 pps a clean run shows about 1–2 ms.
 * - traffic.max_gap_ms: the largest gap of any receiver, rounded to ms.
 * - A switch's window runs from `beforeMs` before it (before decided_at, if given) to `afterMs` after it (after
 *   done_at, if given). Its gap_ms is the largest gap that overlaps the window, whole (so the silence of a
 *   blackhole that the switch ended counts though it began earlier); its `lost` is the datagrams of every run of
 *   consecutive lost seqs that overlaps the window, whole, with each run given to the nearest switch only.
 *   A lost seq's time is its slot in the sender's schedule (t0 + seq × 1000/pps; the pacer keeps within
 *   tx.lag_max_ms of it). Loss outside every window counts in the totals only (`unattributed_lost`).
 * - Faults that cost traffic on their own, with no switch of the agent's answering them (an HQ power-off, a
 *   concentrator restart: `outages`), compete for loss and gaps: a run or gap that begins nearer such a fault than
 *   every switch whose window it overlaps is the fault's, not a switch's (so it counts in `unattributed_lost`). Without
 *   this, an HQ power-off within a second of an operator switch was reported as that switch's loss (issue 14).
 */

export interface SwitchIn {
  /** ms since the run start. */
  at_ms: number;
  /** Epoch ms (number) or ISO time: when the switch was decided and when it was confirmed. */
  decided_at?: number | string;
  done_at?: number | string;
  from: string;
  to: string;
  reason: string;
  [extra: string]: unknown;
}

export type SwitchOut<S extends SwitchIn = SwitchIn> = S & { gap_ms: number; lost: number };

/** One direction of traffic: the meter that sent and the meter that received it. */
export interface Direction {
  name: string;
  sender: MeterResult;
  receiver: MeterResult;
}

export interface AnalyzeInput<S extends SwitchIn = SwitchIn> {
  /** Epoch ms of the run's start: switches' at_ms count from it. */
  runStartMs: number;
  directions: Direction[];
  switches: S[];
  /** ms since the run start of faults that cost traffic with no switch answering them (see the definitions above). */
  outages?: number[];
  beforeMs?: number;
  afterMs?: number;
}

export interface DirectionDetail {
  name: string;
  sent: number;
  received: number;
  lost: number;
  duplicates: number;
  reordered: number;
  max_gap_ms: number;
  /** Where the largest gap began (ms since the run start). */
  max_gap_at_ms: number | null;
  /** Runs of consecutive lost seqs: [first seq, count, ms since the run start of the first one's slot]. */
  lost_runs: Array<[number, number, number]>;
  delay_ms: MeterResult['rx']['delay_ms'];
}

export interface Analysis<S extends SwitchIn = SwitchIn> {
  traffic: Traffic;
  switches: Array<SwitchOut<S>>;
  directions: DirectionDetail[];
  /** Lost datagrams that fall in no switch's window. */
  unattributed_lost: number;
}

export const DEFAULT_BEFORE_MS = 200;
export const DEFAULT_AFTER_MS = 1000;

interface Interval {
  from: number;
  to: number;
}

const overlaps = (a: Interval, b: Interval) => a.from <= b.to && b.from <= a.to;
const distance = (t: number, iv: Interval) => (t < iv.from ? iv.from - t : t > iv.to ? t - iv.to : 0);

function toRunMs(t: number | string | undefined, runStartMs: number): number | undefined {
  if (t === undefined) return undefined;
  const epoch = typeof t === 'number' ? t : Date.parse(t);
  return Number.isFinite(epoch) ? epoch - runStartMs : undefined;
}

function windowOf(s: SwitchIn, runStartMs: number, beforeMs: number, afterMs: number): Interval {
  const decided = toRunMs(s.decided_at, runStartMs);
  const done = toRunMs(s.done_at, runStartMs);
  return { from: Math.min(s.at_ms, decided ?? s.at_ms) - beforeMs, to: Math.max(s.at_ms, done ?? s.at_ms) + afterMs };
}

interface DirectionFacts {
  detail: DirectionDetail;
  gaps: Interval[];
  lostRuns: Array<Interval & { count: number }>;
}

function analyzeDirection(d: Direction, runStartMs: number): DirectionFacts {
  const { sender, receiver } = d;
  const sent = sender.tx.sent;
  const slot = (seq: number) => sender.t0_ms + (seq * 1000) / sender.pps - runStartMs;

  // First arrival of each seq the sender sent; later copies are duplicates.
  const firstAt = new Map<number, number>();
  let duplicates = 0;
  for (const a of arrivalsOf(receiver.rx, receiver.t0_ms)) {
    if (a.seq >= sent) continue;
    if (firstAt.has(a.seq)) duplicates++;
    else firstAt.set(a.seq, a.atMs - runStartMs);
  }

  const gaps: Interval[] = [];
  if (sent > 0 && sender.tx.first_ms !== null && sender.tx.last_ms !== null) {
    const firstSend = sender.tx.first_ms - runStartMs;
    const lastSend = sender.tx.last_ms - runStartMs;
    const times = [...firstAt.values()].filter((t) => t >= firstSend).sort((a, b) => a - b);
    let prev = firstSend;
    for (const t of times) {
      gaps.push({ from: prev, to: t });
      prev = t;
    }
    if (lastSend > prev) gaps.push({ from: prev, to: lastSend });
  }
  let maxGap: Interval | null = null;
  for (const g of gaps) if (!maxGap || g.to - g.from > maxGap.to - maxGap.from) maxGap = g;

  const lostRuns: Array<Interval & { count: number; first: number }> = [];
  for (let seq = 0; seq < sent; seq++) {
    if (firstAt.has(seq)) continue;
    const last = lostRuns[lostRuns.length - 1];
    if (last && last.first + last.count === seq) {
      last.count++;
      last.to = slot(seq);
    } else lostRuns.push({ first: seq, count: 1, from: slot(seq), to: slot(seq) });
  }

  return {
    gaps,
    lostRuns,
    detail: {
      name: d.name,
      sent,
      received: firstAt.size,
      lost: sent - firstAt.size,
      duplicates,
      reordered: receiver.rx.reordered,
      max_gap_ms: maxGap ? Math.round(maxGap.to - maxGap.from) : 0,
      max_gap_at_ms: maxGap ? Math.round(maxGap.from) : null,
      lost_runs: lostRuns.map((r) => [r.first, r.count, Math.round(r.from)]),
      delay_ms: receiver.rx.delay_ms,
    },
  };
}

export function analyze<S extends SwitchIn>(input: AnalyzeInput<S>): Analysis<S> {
  const before = input.beforeMs ?? DEFAULT_BEFORE_MS;
  const after = input.afterMs ?? DEFAULT_AFTER_MS;
  const facts = input.directions.map((d) => analyzeDirection(d, input.runStartMs));
  const windows = input.switches.map((s) => windowOf(s, input.runStartMs, before, after));

  const outages = input.outages ?? [];
  // Switch k may claim an interval (a lost run, a gap) when it overlaps k's window and no fault of `outages` is nearer
  // its beginning (what began it: a switch decided while an HQ was already off does not own the silence).
  const mayClaim = (k: number, iv: Interval) =>
    overlaps(iv, windows[k]!) && !outages.some((at) => Math.abs(iv.from - at) < Math.abs(iv.from - input.switches[k]!.at_ms));

  const lost = input.switches.map(() => 0);
  const gaps = input.switches.map(() => 0);
  let unattributed = 0;
  for (const f of facts) {
    for (const run of f.lostRuns) {
      // A lost run is counted once: for the nearest switch that may claim it.
      let best = -1;
      input.switches.forEach((s, k) => {
        if (mayClaim(k, run) && (best < 0 || distance(s.at_ms, run) < distance(input.switches[best]!.at_ms, run))) best = k;
      });
      if (best < 0) unattributed += run.count;
      else lost[best]! += run.count;
    }
    // A switch's gap: the largest that it may claim.
    for (const g of f.gaps) input.switches.forEach((_, k) => {
      if (mayClaim(k, g)) gaps[k] = Math.max(gaps[k]!, g.to - g.from);
    });
  }

  const switches = input.switches.map((s, k) => ({ ...s, gap_ms: Math.round(gaps[k]!), lost: lost[k]! }));

  const details = facts.map((f) => f.detail);
  const sum = (k: 'sent' | 'received' | 'lost' | 'duplicates') => details.reduce((n, d) => n + d[k], 0);
  return {
    traffic: {
      pps: input.directions[0]?.sender.pps ?? 0,
      sent: sum('sent'),
      received: sum('received'),
      lost: sum('lost'),
      duplicates: sum('duplicates'),
      max_gap_ms: details.reduce((m, d) => Math.max(m, d.max_gap_ms), 0),
    },
    switches,
    directions: details,
    unattributed_lost: unattributed,
  };
}

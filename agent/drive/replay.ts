// Replays a recorded drive through the real arbiter machine (agent/machines/arbiter.machine.ts) on a simulated clock:
// the recorded events go in as the arbiter heard them, its switches come out, with what they cost (summary.ts).
import { createActor, fromCallback, setup, type EventObject } from 'xstate';
import { arbiterView, createArbiterMachine, type ArbiterInput, type SwitchRecord } from '../machines/arbiter.machine.js';
import type { UplinkInput, UplinkReport } from '../machines/uplink.machine.js';
import type { TunnelSeen } from '../machines/arbiter.decide.js';
import type { WatchdogRoundEvent } from '../machines/watchdog.machine.js';
import { policyWith, type Policy } from '../policy/policy.js';
import { SimClock } from '../../shared/clock.js';
import type { DriveSegment, SwitchLine } from '../../shared/wire/drive.js';
import { DriveDecoder } from './drive.codec.js';
import { flapWarnings, pingPongs, signalJitter, Timeline, type Summary } from './summary.js';

/** A switch the replay made (or the agent, from the drive's `s` lines): at_ms from the drive's origin. */
export interface ReplaySwitch {
  at_ms: number;
  from: string | null;
  to: string;
  reason: string;
}

export interface ReplayRun {
  switches: ReplaySwitch[];
  summary: Summary;
}

/** Turns a segment's policy (its header's, or a `p` line's, with the site it came from) into the one the replay runs:
 *  the drive's own by default; a site simulation swaps in other thresholds where `site` is the one tried. */
export type PolicyOf = (recorded: Record<string, number | string>, site: string | null) => Policy;

/** Profile fields the uplinks apply (not the arbiter): a replay runs the uplinks as recorded, so they change nothing. */
export const NOT_REPLAYED = ['min_signal', 'probe_interval_ms', 'probe_timeout_ms', 'scan_interval_ms'];

/** Stands in for the uplink machines: the drive says what each uplink reported; what the arbiter tells them is dropped. */
const RECORDED_UPLINK = setup({}).createMachine({ id: 'recorded-uplink' });
const NOTHING = fromCallback(() => () => {});

/** Replays one segment; `window` is [from, to] in segment ms (what the summary and the printed switches count). */
export async function replaySegment(seg: DriveSegment, policyOf: PolicyOf, window: { from: number; to: number }, yardstick: Policy): Promise<ReplayRun> {
  const h = seg.header;
  // The segment's clock (t = 0 at its start), also the arbiter's wall clock: its records' decided_at are segment ms.
  const clock = new SimClock({ now: 0, wall: 0 });
  const dec = new DriveDecoder(h);
  const recorded = seg.events.filter((e): e is SwitchLine => e.e === 's');
  const latest = new Map<string, UplinkReport>();
  // Set when a promise actor may have settled (steering done, a probe answered on a timer): the replay then lets the
  // event loop turn once, so the arbiter hears of it at the same simulated time.
  let dirty = false;
  const track = <T>(p: Promise<T>): Promise<T> => {
    dirty = true;
    return p;
  };
  // The first reply through the tunnel on the new path: after the agent's own measurement of the same switch when it
  // made one (same target, decided within a second), else after the new path's probe RTT.
  const confirmMs = (to: string, at: number): number | null => {
    const same = recorded.find((r) => r.to === to && Math.abs(r.at - at) <= 1000);
    if (same) return same.confirm_ms === null ? null : Math.max(0, Math.round(same.confirm_ms));
    return Math.round(latest.get(to)?.probe.rtt_ms ?? 5);
  };
  let decidedAt = -1;
  let pendingTo = '';
  let n = 0;
  const machine = createArbiterMachine(
    {
      steer: (to) => {
        pendingTo = to.name;
        return track(Promise.resolve());
      },
      afterSwitch: () => track(Promise.resolve()),
      tunnelProbe: (signal) => (new Promise<number>((resolve, reject) => {
        const ms = confirmMs(pendingTo, decidedAt);
        if (ms === null) return; // unconfirmed when it ran: the confirm timeout ends it, as it did
        // The first reply comes that long after the decision, whichever probe it answers: the arbiter re-asks every
        // confirmRetryMs (aborting the probe before), so the answer is due at a time, not after each probe.
        const id = clock.setTimeout(() => {
          dirty = true;
          resolve(ms);
        }, Math.max(0, decidedAt + ms - clock.now()));
        signal.addEventListener('abort', () => {
          clock.clearTimeout(id);
          reject(new Error('aborted'));
        });
      })),
      watchLinks: () => new Promise(() => {}),
      readCounters: () => ({ rx: 0, tx: 0 }),
      now: () => clock.now(),
      wallNow: () => clock.wallNow(),
      newId: () => `replay-${++n}`,
    },
    RECORDED_UPLINK,
    h.uplinks.map((u): UplinkInput => ({ name: u.name, slot: u.slot, kind: u.kind, probeIntervalMs: 1000, probeTimeoutMs: 500, maxMisses: 3, connectList: [], scanIntervalMs: 3000 })),
  ).provide({ actors: { counters: fromCallback<EventObject, { intervalMs: number; heartbeatMs: number }>(() => () => {}), links: NOTHING } });
  const input: ArbiterInput = { ...h.arbiter, uplinks: h.uplinks.map((u) => u.name), policy: policyOf(h.policy, h.site), site: h.site, watchdog: null };
  const actor = createActor(machine, { input, clock });
  const switches: ReplaySwitch[] = [];
  const timeline = new Timeline(h.uplinks, window, yardstick);
  // When each decision's old path was last heard (at the decision: the failover's detection time starts there).
  const heardAt = new Map<number, number>();
  // The recording's last line: past it the replay only lets a switch under way finish. A decision after it would be
  // made on no facts at all (the arbiter's dead-limit timer taking the drive's end for a silence), not the agent's.
  const end = seg.events.at(-1)?.t ?? 0;
  actor.on('switch.done', ({ record }: { record: SwitchRecord }) => {
    if (record.decided_at > end) return;
    switches.push({ at_ms: Math.round(record.decided_at), from: record.from, to: record.to, reason: String(record.reason) });
    timeline.failover(record, heardAt.get(record.decided_at) ?? null);
  });
  // Decisions are timed by the arbiter's begin (decided_at on its wall clock = the replay clock).
  actor.subscribe((s) => {
    const c = s.context as { pending: { decidedAt: number; from: string | null } | null; tunnel: TunnelSeen };
    const p = c.pending;
    if (!p || p.decidedAt === decidedAt) return;
    decidedAt = p.decidedAt;
    const heard = Math.max((p.from ? latest.get(p.from)?.probe.last_ok_at : null) ?? -Infinity, c.tunnel.last_rx_at ?? -Infinity);
    if (Number.isFinite(heard)) heardAt.set(p.decidedAt, heard);
  });
  actor.start();

  const settle = async () => {
    for (let i = 0; i < 5 && dirty; i++) {
      dirty = false;
      await new Promise((r) => setImmediate(r));
    }
  };
  const advance = async (t: number) => {
    for (let fn = clock.takeDue(t); fn; fn = clock.takeDue(t)) {
      timeline.at(clock.now(), activeOf());
      fn();
      await settle();
    }
    clock.moveTo(t);
    timeline.at(t, activeOf());
  };
  const activeOf = () => arbiterView(actor).active;

  for (const e of seg.events) {
    await advance(e.t);
    switch (e.e) {
      case 'u': {
        const status = dec.status(e);
        latest.set(status.name, status);
        timeline.status(status);
        actor.send({ type: 'uplink.status', status });
        break;
      }
      case 'c': {
        const seen = dec.tunnel(e);
        actor.send({ type: 'tunnel.counters', seen });
        break;
      }
      case 'l':
        actor.send({ type: 'link.changed', ifname: e.n, up: e.up });
        break;
      case 'o':
        actor.send({ type: 'operator.switch', to: e.to });
        break;
      case 'p':
        actor.send({ type: 'policy.set', policy: policyOf(e.policy, e.site), site: e.site });
        break;
      case 'w':
        actor.send(e.round as unknown as WatchdogRoundEvent);
        break;
      case 'b':
        timeline.bytes(e.rx + e.tx);
        break;
      case 's':
        break;
    }
    await settle();
  }
  await advance(end + 2 * (h.arbiter.confirmTimeoutMs + h.arbiter.drainMs));
  timeline.end(Math.min(end, window.to));
  actor.stop();
  const inWindow = switches.filter((s) => s.at_ms >= window.from && s.at_ms <= window.to);
  return { switches: inWindow, summary: timeline.summary(inWindow) };
}

/** The switches the agent made, from the drive's `s` lines (segment ms). */
export function recordedSwitches(seg: DriveSegment, window: { from: number; to: number }): ReplaySwitch[] {
  return seg.events
    .filter((e): e is SwitchLine => e.e === 's')
    .map((e) => ({ at_ms: e.at, from: e.from, to: e.to, reason: e.reason }))
    .filter((s) => s.at_ms >= window.from && s.at_ms <= window.to);
}

/** How many switches the agent made on the drive (its `s` lines in the drive's window). */
export function recordedSwitchCount(segments: DriveSegment[]): number {
  const first = segments[0]!;
  return segments.reduce((n, seg) => n + recordedSwitches(seg, windowOf(seg, first)).length, 0);
}

export interface Simulation {
  /** The switches and summary under the profile tried. */
  switches: ReplaySwitch[];
  summary: Summary;
  /** The same under the drive's own profile (the thresholds it ran with, `p` lines included). */
  baseline: ReplayRun;
  /** The switches the agent made on the drive (its `s` lines). */
  recorded: ReplaySwitch[];
  warnings: string[];
}

/** The drive's window in segment ms: from its origin to its end (both in wall ms in the first header). */
function windowOf(seg: DriveSegment, first: DriveSegment): { from: number; to: number } {
  const origin = first.header.origin_wall ?? first.header.start_wall;
  const until = first.header.until_wall;
  return { from: origin - seg.header.start_wall, to: until === undefined ? Infinity : until - seg.header.start_wall };
}

/** From segment ms to ms since the drive's origin. */
function shift(s: ReplaySwitch, seg: DriveSegment, first: DriveSegment): ReplaySwitch {
  const origin = first.header.origin_wall ?? first.header.start_wall;
  return { ...s, at_ms: Math.round(s.at_ms + seg.header.start_wall - origin) };
}

function sum(runs: ReplayRun[], switches: ReplaySwitch[]): Summary {
  const total = (k: keyof Summary) => runs.reduce((a, r) => a + r.summary[k], 0);
  return {
    switches: switches.length, ping_pong: pingPongs(switches), lte_ms: total('lte_ms'), lte_mb: Math.round(total('lte_mb') * 1000) / 1000,
    below_ms: total('below_ms'), failovers: total('failovers'), outage_ms: total('outage_ms'),
  };
}

/** Runs every segment under `policyOf`, switches counted from the drive's origin. */
export async function replayDrive(segments: DriveSegment[], policyOf: PolicyOf): Promise<ReplayRun> {
  const first = segments[0]!;
  const yardstick = policyWith(first.header.policy as Partial<Policy>);
  const runs: ReplayRun[] = [];
  const switches: ReplaySwitch[] = [];
  for (const seg of segments) {
    const r = await replaySegment(seg, policyOf, windowOf(seg, first), yardstick);
    runs.push(r);
    switches.push(...r.switches.map((s) => shift(s, seg, first)));
  }
  return { switches, summary: sum(runs, switches) };
}

/** The drive under its own profile and under `overrides` (profile fields), with the agent's own switches beside. */
export async function simulateDrive(segments: DriveSegment[], overrides: Partial<Policy>): Promise<Simulation> {
  const first = segments[0]!;
  const own: PolicyOf = (p) => policyWith(p as Partial<Policy>);
  const tried: PolicyOf = (p) => ({ ...policyWith(p as Partial<Policy>), ...overrides });
  const baseline = await replayDrive(segments, own);
  const run = Object.keys(overrides).length === 0 ? baseline : await replayDrive(segments, tried);
  const recorded = segments.flatMap((seg) => recordedSwitches(seg, windowOf(seg, first)).map((s) => shift(s, seg, first)));
  const warnings = flapWarnings(tried(first.header.policy, first.header.site), signalJitter(segments));
  return { switches: run.switches, summary: run.summary, baseline, recorded, warnings };
}

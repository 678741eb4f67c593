// bench/drive-day: the drive bytes a vehicle ships in a day at each shipping cadence (LTE's is 10 minutes), measured by
// running the agent's real recorder and DriveShipper on a simulated clock over a day made of recorded lab minutes,
// shipped to HQ's real agents' API over loopback (every byte on the wire, plus the tunnel's packets), against 2 MB/day.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { createDriveRecorder } from '../agent/drive/recorder.js';
import { DriveDecoder } from '../agent/drive/drive.codec.js';
import { DriveShipper, DEFAULT_DRIVE_SHIP } from '../agent/ship/drive.shipper.js';
import type { ArbiterEvent } from '../agent/machines/arbiter.machine.js';
import type { TunnelSeen } from '../agent/machines/arbiter.decide.js';
import type { UplinkReport } from '../agent/machines/uplink.machine.js';
import { SimClock } from '../shared/clock.js';
import { seeded } from '../shared/rng.js';
import { parseDrive, type DriveHeader } from '../shared/wire/drive.js';
import { startLoopbackHq, type ShippedBytes } from './drive.loopback.js';

/*
 * Why a simulated day: LTE ships every 10 minutes, and a lab run may hold the lab ~8 minutes, so no lab run holds a
 * single 10-minute piece. Instead steady lab drives (`roamlink lab run bench/drive-day.yaml --drive FILE`: bench/agent's
 * steady scenario, two APs and LTE all up, 1000 packets/s each way, on realistic links, 7 minutes) are
 * decoded back into the arbiter's events and cut into blocks of a minute. A day is 144 windows of 10 minutes, each
 * made of 10 *different* blocks drawn at random (seeded): no minute repeats within a piece, so brotli finds nothing a
 * real piece would not hold (a block repeated within one piece would compress to almost nothing). The events are fed,
 * at their recorded times, to the real recorder (createDriveRecorder: encoding, anchors, rotation at midnight with
 * its whole first lines) and the files shipped by the real DriveShipper, both on one SimClock, on LTE at the cadence
 * under test, with no allowance (the demand is measured, not capped). The same day (same seed) is shipped at each
 * cadence. Calibration: the recordings themselves, contiguous, shipped at 1 and 4 minutes (as bench/agent does) give
 * what the spliced day should give at those cadences; the junctions between blocks cost a little (a conservative bias).
 */

const GOAL = 2_000_000;
const BLOCK_MS = 60_000;
const WINDOW_BLOCKS = 10;
const STEP_MS = 10_000;

interface Timed {
  /** ms since the block's start */
  at: number;
  /** bytes: how much the tunnel's counters grew since the recording's reading before */
  event: ArbiterEvent | { type: 'bytes'; rx: number; tx: number };
}

type Block = Timed[];

/** Shifts every monotonic time in a status by dt (the decoder gives them on the recording's clock). */
function shiftStatus(u: UplinkReport, dt: number): UplinkReport {
  const s = (x: number | null | undefined) => (x === null || x === undefined ? x : x + dt);
  const f = u.probe.failing;
  return {
    ...u, lastOkAt: s(u.lastOkAt) as number | null,
    probe: {
      ...u.probe, last_ok_at: s(u.probe.last_ok_at) as number | null,
      ...(u.probe.in_flight_since !== undefined ? { in_flight_since: s(u.probe.in_flight_since) as number } : {}),
      ...(f ? { failing: { since: f.since + dt, last_at: f.last_at + dt, lost_before: f.lost_before.map((x) => x + dt) } } : {}),
    },
  };
}

function shiftSeen(c: TunnelSeen, dt: number): TunnelSeen {
  const s = (x: number | null) => (x === null ? null : x + dt);
  return { ...c, readAt: s(c.readAt), last_rx_at: s(c.last_rx_at), last_tx_at: s(c.last_tx_at) };
}

/** A lab drive's steady span (from origin_wall + warm-up to until_wall) as the arbiter's events, in blocks of a minute. */
function blocksOf(text: string, warmupMs = 5000): { header: DriveHeader; blocks: Block[]; span: [number, number] } {
  const seg = parseDrive(text).at(-1)!;
  const h = seg.header;
  const from = (h.origin_wall ?? h.start_wall) + warmupMs - h.start_wall;
  const to = (h.until_wall ?? h.start_wall + (seg.events.at(-1)?.t ?? 0)) - h.start_wall;
  const dec = new DriveDecoder(h);
  const blocks: Block[] = [];
  let prevB: { rx: number; tx: number } | null = null;
  for (const e of seg.events) {
    // Decoded from the start whatever the span (the lines are change-only).
    let ev: Timed['event'] | null = null;
    if (e.e === 'u') ev = { type: 'uplink.status', status: dec.status(e) } as ArbiterEvent;
    else if (e.e === 'c') ev = { type: 'tunnel.counters', seen: dec.tunnel(e) } as ArbiterEvent;
    else if (e.e === 'l') ev = { type: 'link.changed', ifname: e.n, up: e.up } as ArbiterEvent;
    else if (e.e === 'o') ev = { type: 'operator.switch', to: e.to } as ArbiterEvent;
    else if (e.e === 'p') ev = { type: 'policy.set', policy: e.policy, site: e.site } as unknown as ArbiterEvent;
    else if (e.e === 'w') ev = { type: 'watchdog.round', ...e.round } as unknown as ArbiterEvent;
    else if (e.e === 'b') {
      ev = prevB ? { type: 'bytes', rx: Math.max(0, e.rx - prevB.rx), tx: Math.max(0, e.tx - prevB.tx) } : null;
      prevB = e;
    }
    // 's' (a switch the agent made): the steady drives have none; a switch is not an arbiter event.
    if (!ev || e.t < from || e.t >= to) continue;
    const i = Math.floor((e.t - from) / BLOCK_MS);
    if (from + (i + 1) * BLOCK_MS > to) continue; // whole blocks only
    (blocks[i] ??= []).push({ at: e.t - from - i * BLOCK_MS, event: shiftAt(ev, -(from + i * BLOCK_MS)) });
  }
  return { header: h, blocks: blocks.filter((b) => b && b.length > 0), span: [from, to] };
}

/** The event's times moved onto the block's clock (0 = the block's start). */
function shiftAt(ev: Timed['event'], dt: number): Timed['event'] {
  if (ev.type === 'uplink.status') return { ...ev, status: shiftStatus(ev.status, dt) };
  if (ev.type === 'tunnel.counters') return { ...ev, seen: shiftSeen(ev.seen, dt) };
  return ev;
}

/** The day's blocks: for each window of WINDOW_BLOCKS minutes, that many different blocks of the pool, at random. */
function daySequence(pool: number, windows: number, seed: number): number[] {
  if (pool < WINDOW_BLOCKS) throw new Error(`${pool} minutes recorded: a 10-minute piece needs at least ${WINDOW_BLOCKS} different ones`);
  const rnd = seeded(seed);
  const out: number[] = [];
  for (let w = 0; w < windows; w++) {
    const left = Array.from({ length: pool }, (_, i) => i);
    for (let k = 0; k < WINDOW_BLOCKS; k++) out.push(left.splice(Math.floor(rnd() * left.length), 1)[0]!);
  }
  return out;
}

interface DayResult extends ShippedBytes {
  cadenceMs: number;
  lines: number;
  segments: number;
  /** bytes a day on LTE: wire + tunnel, scaled to 24 h when the day simulated is shorter */
  perDay: number;
}

/** One simulated day (or `hours` of it) of the blocks in `order`, recorded and shipped every cadenceMs on LTE. */
async function shipDay(header: DriveHeader, blocks: Block[], order: number[], cadenceMs: number, hours = 24): Promise<DayResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-day-'));
  const hq = await startLoopbackHq(header.vehicle);
  // Midnight UTC, so that the recorder's daily rotation and the shipper's UTC day coincide with the simulated day.
  const clock = new SimClock({ now: 0, wall: Date.UTC(2026, 11, 1) });
  const root = { id: 'arbiter' } as unknown as AnyActorRef;
  let bytes = { rx: 0, tx: 0 };
  const { drive: _d, version: _v, start_wall: _s, origin_wall: _o, until_wall: _u, ...h } = header;
  const rec = createDriveRecorder({ dir, clock, header: h, readBytes: () => bytes, retentionMs: 0 });
  rec.attach(root);
  const shipper = new DriveShipper({
    dir, clock, onLte: () => true, send: hq.send, tickMs: STEP_MS,
    policy: { lteIntervalMs: cadenceMs, lteBytesPerDay: Number.MAX_SAFE_INTEGER },
  });
  shipper.start();
  const endMs = hours * 3_600_000;
  const feed = (ev: Timed['event'], blockStart: number) => {
    if (ev.type === 'bytes') {
      // The tunnel's counters grow by what they grew in the recording; the recorder reads them every 10 s as it does.
      bytes = { rx: bytes.rx + ev.rx, tx: bytes.tx + ev.tx };
      return;
    }
    rec.inspect({ type: '@xstate.event', actorRef: root, event: shiftAt(ev, blockStart) as ArbiterEvent, sourceRef: undefined, rootId: 'bench' } as unknown as InspectionEvent);
  };
  // The header ships on its own at the start, as the agent's first round ships its new file's first line.
  await clock.advance(0);
  await rec.sync();
  await shipper.flush();
  for (let b = 0; b * BLOCK_MS < endMs; b++) {
    const start = b * BLOCK_MS;
    const block = blocks[order[b % order.length]!]!;
    let i = 0;
    for (let step = start; step < start + BLOCK_MS; step += STEP_MS) {
      // The block's events within this step, at their times (timers due meanwhile fire in order)...
      for (; i < block.length && start + block[i]!.at < step + STEP_MS; i++) {
        clock.advanceSync(start + block[i]!.at - clock.now());
        feed(block[i]!.event, start);
      }
      // ...then what the recorder buffered is on disk before the shipper's tick at the step's end looks at the files.
      await rec.sync();
      await clock.advance(step + STEP_MS - clock.now());
      await shipper.idle();
    }
  }
  await rec.close();
  await shipper.flush();
  await shipper.stop();
  const shipped = hq.shipped();
  await hq.close();
  const { lines, segments } = rec.stats();
  await rm(dir, { recursive: true, force: true });
  return { ...shipped, cadenceMs, lines, segments, perDay: Math.round(((shipped.wire + shipped.tunnel) * 24) / hours) };
}

/** A recording contiguous (no splicing), shipped every cadenceMs: bytes a day from its pieces that hold no header
 *  (the median piece, times pieces a day), what a spliced day's pieces should match at that cadence. */
async function contiguous(header: DriveHeader, blocks: Block[], cadenceMs: number): Promise<number> {
  const r = await shipDay(header, blocks, blocks.map((_, i) => i), cadenceMs, (blocks.length * BLOCK_MS) / 3_600_000);
  // Whole pieces only: not the header's (offset 0), not the last (what was left at the end).
  const whole = r.each.filter((p) => p.offset > 0).slice(0, -1);
  return median(whole.map((p) => p.wire + p.tunnel)) * (86_400_000 / cadenceMs);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main() {
  const files = (process.env.BENCH_DRIVE_FILES ?? '').split(',').filter(Boolean);
  if (files.length === 0) throw new Error('BENCH_DRIVE_FILES: comma-separated steady lab drives (roamlink lab run SCENARIO --drive FILE)');
  const seeds = Number(process.env.BENCH_DRIVE_SEEDS ?? 3);
  const hours = Number(process.env.BENCH_DRIVE_HOURS ?? 24);
  const cadences = (process.env.BENCH_DRIVE_CADENCES ?? `60000,240000,${DEFAULT_DRIVE_SHIP.lteIntervalMs}`).split(',').map(Number);
  let header: DriveHeader | null = null;
  const pool: Block[] = [];
  const perFile: Block[][] = [];
  for (const f of files) {
    const b = blocksOf(await readFile(f, 'utf8'));
    header ??= b.header;
    pool.push(...b.blocks);
    perFile.push(b.blocks);
    const lines = b.blocks.reduce((n, x) => n + x.length, 0);
    console.log(`${f}: ${b.blocks.length} steady minutes, ${lines} events (${(lines / (b.blocks.length * 60)).toFixed(2)} a second)`);
  }
  const windows = Math.ceil((hours * 60) / WINDOW_BLOCKS);
  console.log(`bench/drive-day: ${pool.length} recorded minutes; a simulated day of ${hours} h (${windows} windows of ${WINDOW_BLOCKS} different minutes each), ${seeds} seed(s); the real recorder and DriveShipper on a SimClock, on LTE, shipped to the agents' API over loopback; Node ${process.version}`);

  // Calibration: each recording contiguous, at 1 and 4 minutes (what bench/agent measures in the lab).
  const cal = new Map<number, number[]>();
  for (const blocks of perFile) {
    for (const c of [60_000, 240_000]) {
      if (blocks.length * BLOCK_MS < c) continue;
      const r = await contiguous(header!, blocks, c);
      (cal.get(c) ?? cal.set(c, []).get(c)!).push(r);
    }
  }
  for (const [c, v] of cal) console.log(`  calibration, each recording contiguous (no splicing), whole pieces every ${c / 60_000} min: ${v.map((x) => Math.round(x).toLocaleString('en')).join(' / ')} B/day`);
  const rows = new Map<number, DayResult[]>();
  for (let seed = 1; seed <= seeds; seed++) {
    const order = daySequence(pool.length, windows, seed);
    for (const c of cadences) {
      const r = await shipDay(header!, pool, order, c, hours);
      (rows.get(c) ?? rows.set(c, []).get(c)!).push(r);
      console.log(`  seed ${seed}, every ${c / 60_000} min: ${r.pieces} pieces, ${r.segments} segment(s), ${r.lines} lines, ${r.body} B of brotli, ${r.wire} B on TCP + ${r.tunnel} B of tunnel packets -> ${r.perDay.toLocaleString('en')} B/day`);
    }
  }
  const base = median(rows.get(cadences[0]!)!.map((r) => r.perDay));
  const fmt = (n: number) => Math.round(n).toLocaleString('en').padStart(11);
  console.log(`\n${'shipped on LTE (medians of seeds)'.padEnd(36)} ${'pieces/day'.padStart(10)} ${'body B/day'.padStart(11)} ${'overhead/piece'.padStart(14)} ${'B/day'.padStart(11)} ${'ratio'.padStart(6)}  ${'contiguous lab drive'.padStart(20)}  vs ${GOAL.toLocaleString('en')}`);
  for (const c of cadences) {
    const rs = rows.get(c)!;
    const day = median(rs.map((r) => r.perDay));
    const scale = 24 / hours;
    const pieces = median(rs.map((r) => r.pieces)) * scale;
    const body = median(rs.map((r) => r.body)) * scale;
    const over = median(rs.map((r) => (r.wire - r.body + r.tunnel) / r.pieces));
    const calib = cal.get(c);
    console.log(`${`every ${c / 60_000} min${c === DEFAULT_DRIVE_SHIP.lteIntervalMs ? ' (LTE\'s cadence)' : c === 60_000 ? ' (baseline: off LTE)' : ''}`.padEnd(36)} ${String(Math.round(pieces)).padStart(10)} ${fmt(body)} ${over.toFixed(0).padStart(14)} ${fmt(day)} ${(day / base).toFixed(3).padStart(6)}  ${(calib ? fmt(median(calib)) : '–'.padStart(11)).padStart(20)}  ${day <= GOAL ? `met (${((100 * day) / GOAL).toFixed(1)} %)` : 'NOT met'}`);
  }
  const lte = median(rows.get(DEFAULT_DRIVE_SHIP.lteIntervalMs)?.map((r) => r.perDay) ?? [NaN]);
  process.exitCode = Number.isNaN(lte) || lte <= GOAL ? 0 : 1;
}

await main();

// Records the drive: every event the arbiter receives (an XState inspection hook) as change-only lines, one file (a
// segment) per agent start and then one a day (its header adopts the running tunnel), written once a second; old files
// go by retention (days) and by a size cap.
import { mkdirSync, readFileSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import type { Clock } from '../../shared/clock.js';
import { DRIVE_FORMAT, DRIVE_VERSION, DriveLineWriter, type DriveHeader, type DriveLine } from '../../shared/wire/drive.js';
import type { ArbiterEvent, ArbiterInput, SwitchRecord } from '../machines/arbiter.machine.js';
import type { TunnelSeen } from '../machines/arbiter.decide.js';
import type { UplinkReport } from '../machines/uplink.machine.js';
import { DriveEncoder } from './drive.codec.js';

const DAY_MS = 86_400_000;

export interface DriveRecorderOptions {
  dir: string;
  /** The first segment's header; a later segment's is the same but for the thresholds in force and the tunnel adopted. */
  header: Omit<DriveHeader, 'drive' | 'version' | 'start_wall'>;
  /** The arbiter's clock: monotonic ms (decisions), wall ms (its switch records' decided_at, file names, retention),
   *  and the timers the recorder waits on (flush, byte counters, rotation). */
  clock: Pick<Clock, 'now' | 'wallNow' | 'set' | 'clear'>;
  /** Files in `dir` beyond this many bytes in all are deleted, oldest first (default 64 MB). */
  maxBytes?: number;
  /** A new segment (file) after this much monotonic time in one (default a day): each file replays on its own, HQ
   *  keeps and prunes each whole, and a simulation over a week reads a week, not every day since the agent started. */
  rotateMs?: number;
  /** Files last written longer ago than this (wall clock) are deleted (default 7 days; 0: kept until the size cap). */
  retentionMs?: number;
  flushMs?: number;
  /** The tunnel's byte counters (rx, tx), read every bytesEveryMs (default 10 s): what time on LTE costs. */
  readBytes?: () => { rx: number; tx: number };
  bytesEveryMs?: number;
  /** The tunnel the arbiter runs on now (its active uplink and the source address it steers from), for a new
   *  segment's header; default: the uplink whose last status says it is active. */
  running?: () => { uplink: string; address: string } | null;
  onError?: (err: unknown) => void;
}

export interface DriveRecorder {
  /** createActor's `inspect` option. */
  inspect: (ev: InspectionEvent) => void;
  /** The arbiter actor whose received events are recorded (events before it is attached are not). */
  attach: (arbiter: AnyActorRef) => void;
  /** A switch the agent made (its record, as journaled). */
  switched: (r: SwitchRecord) => void;
  /** The file being written now. */
  readonly path: string;
  /** Lines and bytes written so far (every segment). */
  stats(): { lines: number; bytes: number; segments: number };
  /** Writes what is buffered now; resolves once it is on disk. */
  sync(): Promise<void>;
  /** Writes what is buffered; records nothing more. */
  close(): Promise<void>;
}

/** The arbiter events a drive keeps (the others change nothing it decides on). */
const KEPT = new Set(['uplink.status', 'link.changed', 'tunnel.counters', 'operator.switch', 'policy.set', 'watchdog.round']);

/** A drive file's name: its segment's start on the wall clock (names sort in time order). */
export const driveFileName = (startWall: number) => `drive-${new Date(startWall).toISOString().replace(/[:.]/g, '-')}.jsonl`;

export function createDriveRecorder(o: DriveRecorderOptions): DriveRecorder {
  mkdirSync(o.dir, { recursive: true, mode: 0o750 });
  const clock = o.clock;
  const rotateMs = o.rotateMs ?? DAY_MS;
  const retentionMs = o.retentionMs ?? 7 * DAY_MS;
  const maxBytes = o.maxBytes ?? 64 * 1024 * 1024;
  let policy = { policy: o.header.policy, site: o.header.site };
  let lastPolicy = JSON.stringify([policy.policy, policy.site]);
  // What each uplink and the counters last said: a new segment starts with them whole (its lines are change-only).
  const lastStatus = new Map<string, UplinkReport>();
  let lastSeen: TunnelSeen | null = null;
  let root: AnyActorRef | null = null;
  let buf: string[] = [];
  let lines = 0;
  let bytes = 0;
  let segments = 0;
  let closed = false;
  let writing: Promise<void> = Promise.resolve();
  let seg!: { path: string; t0: number; enc: DriveEncoder; writer: DriveLineWriter };
  const put = (l: DriveLine | DriveHeader) => {
    const s = seg.writer.text(l);
    buf.push(s);
    lines++;
    bytes += Buffer.byteLength(s);
  };
  const flush = () => {
    if (buf.length === 0) return;
    const text = buf.join('');
    const path = seg.path;
    buf = [];
    writing = writing.then(() => appendFile(path, text)).catch((err) => o.onError?.(err));
  };

  /** Starts a segment: its header (the first: as given; a later one: the thresholds in force and the tunnel running
   *  now, adopted), then each uplink's and the counters' last state whole, so that it replays on its own. */
  const begin = () => {
    const t0 = clock.now();
    const startWall = Math.round(clock.wallNow());
    const first = segments === 0;
    let header: DriveHeader = { drive: DRIVE_FORMAT, version: DRIVE_VERSION, start_wall: startWall, ...o.header };
    if (!first) {
      const run = o.running ? o.running() : runningOf(lastStatus);
      header = { ...header, policy: policy.policy, site: policy.site, arbiter: { ...o.header.arbiter, adopted: run } };
    }
    seg = { path: join(o.dir, driveFileName(startWall)), t0, enc: new DriveEncoder(t0), writer: new DriveLineWriter() };
    segments++;
    put(header);
    if (!first) {
      for (const u of lastStatus.values()) put(seg.enc.status(t0, u));
      if (lastSeen) put(seg.enc.counters(t0, lastSeen));
    }
    prune(o.dir, { maxBytes, retentionMs, now: clock.wallNow(), keep: seg.path }, o.onError);
  };
  begin();

  // The recorder's own waits, on the arbiter's clock (one SimClock drives them in tests and in bench/drive-day).
  const every = (ms: number, fn: () => void) => {
    let h: unknown = null;
    const arm = () => {
      h = clock.set(() => {
        if (closed) return;
        fn();
        arm();
      }, ms);
    };
    arm();
    return () => clock.clear(h);
  };
  const stops = [every(o.flushMs ?? 1000, flush)];
  if (o.readBytes) {
    stops.push(every(o.bytesEveryMs ?? 10_000, () => {
      try {
        const b = o.readBytes!();
        put({ t: seg.enc.time(clock.now()), e: 'b', rx: b.rx, tx: b.tx });
      } catch {
        // the interface is being re-made: the next reading counts
      }
    }));
  }
  stops.push(every(rotateMs, () => {
    flush();
    begin();
  }));

  const record = (ev: ArbiterEvent) => {
    const now = clock.now();
    const enc = seg.enc;
    switch (ev.type) {
      case 'uplink.status':
        lastStatus.set(ev.status.name, ev.status);
        return put(enc.status(now, ev.status));
      case 'tunnel.counters':
        lastSeen = ev.seen;
        return put(enc.counters(now, ev.seen));
      case 'link.changed':
        return put({ t: enc.time(now), e: 'l', n: ev.ifname, up: ev.up });
      case 'operator.switch':
        return put({ t: enc.time(now), e: 'o', to: ev.to });
      case 'policy.set': {
        // The agent re-sends the thresholds it already runs (after each switch): only a change is a line.
        const key = JSON.stringify([ev.policy, ev.site]);
        if (key === lastPolicy) return;
        lastPolicy = key;
        policy = { policy: { ...ev.policy } as Record<string, number | string>, site: ev.site };
        return put({ t: enc.time(now), e: 'p', policy: { ...ev.policy } as Record<string, number | string>, site: ev.site });
      }
      case 'watchdog.round':
        if (ev.alarms.length > 0) put({ t: enc.time(now), e: 'w', round: { ...ev } as unknown as Record<string, unknown> });
        return;
    }
  };

  return {
    get path() {
      return seg.path;
    },
    inspect(ev) {
      if (closed || ev.type !== '@xstate.event' || root === null || ev.actorRef !== root) return;
      const e = ev.event as ArbiterEvent;
      if (!KEPT.has(e.type)) return;
      try {
        record(e);
      } catch (err) {
        o.onError?.(err);
      }
    },
    attach(arbiter) {
      root = arbiter;
    },
    switched(r) {
      if (closed) return;
      // The decision's monotonic time; an older record has only decided_at, taken back by the wall clock's offset now.
      const mono = r.decided_mono ?? r.decided_at - (clock.wallNow() - clock.now());
      put({ t: seg.enc.time(clock.now()), e: 's', at: seg.enc.time(mono), from: r.from, to: r.to, reason: String(r.reason), confirm_ms: r.ms_to_first_packet });
    },
    stats: () => ({ lines, bytes, segments }),
    async sync() {
      flush();
      await writing;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const stop of stops) stop();
      flush();
      await writing;
    },
  };
}

/** The uplink whose last status says it carries the tunnel, and its address (null: none does, or it has none). */
function runningOf(status: ReadonlyMap<string, UplinkReport>): { uplink: string; address: string } | null {
  for (const u of status.values()) if (u.role === 'active' && u.lease) return { uplink: u.name, address: u.lease.address };
  return null;
}

/** The tunnel interface's byte counters from sysfs (small synchronous reads, every few seconds). */
export function sysfsBytes(ifname: string, root = '/sys/class/net'): () => { rx: number; tx: number } {
  const read = (f: string) => Number(readFileSync(join(root, ifname, 'statistics', f), 'utf8').trim());
  return () => ({ rx: read('rx_bytes'), tx: read('tx_bytes') });
}

/** A drive file as the directory holds it: its name, size and when it was last written (wall ms). */
export interface DriveFileInfo {
  name: string;
  size: number;
  mtime: number;
}

/**
 * Which drive files to delete (pure): never `keep` (the one being written); every file last written more than
 * retentionMs before `now` (0: none by age; a file written "in the future", before the clock was set, is kept); then
 * the oldest (by name, which is the segment's start) until those left fit in maxBytes.
 */
export function drivesToPrune(files: readonly DriveFileInfo[], o: { maxBytes: number; retentionMs: number; now: number; keep: string }): string[] {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  let total = sorted.reduce((a, f) => a + f.size, 0);
  for (const f of sorted) {
    if (f.name === o.keep) continue;
    if ((o.retentionMs > 0 && f.mtime < o.now - o.retentionMs) || total > o.maxBytes) {
      out.push(f.name);
      total -= f.size;
    }
  }
  return out;
}

/** Deletes the drive files drivesToPrune names. */
function prune(dir: string, o: { maxBytes: number; retentionMs: number; now: number; keep: string }, onError?: (err: unknown) => void): void {
  let files: DriveFileInfo[];
  try {
    files = readdirSync(dir).filter((f) => /^drive-.*\.jsonl$/.test(f)).map((name) => {
      const st = statSync(join(dir, name));
      return { name, size: st.size, mtime: st.mtimeMs };
    });
  } catch (err) {
    onError?.(err);
    return;
  }
  for (const name of drivesToPrune(files, { ...o, keep: o.keep.slice(o.keep.lastIndexOf('/') + 1) })) {
    try {
      unlinkSync(join(dir, name));
    } catch {
      // gone already
    }
  }
}

/** The header's arbiter and uplinks from what the agent starts its arbiter with. */
export function driveHeaderOf(vehicle: string, input: ArbiterInput, uplinks: ReadonlyArray<{ name: string; slot: number; kind: 'wifi' | 'lte' | 'ethernet' }>): DriveRecorderOptions['header'] {
  const { initial, settleMs, drainMs, confirmTimeoutMs, confirmRetryMs, counterIntervalMs, counterHeartbeatMs, restProbeMs, steerRetryMs, adopted, adoptMs } = input;
  const arbiter = Object.fromEntries(Object.entries({ initial, settleMs, drainMs, confirmTimeoutMs, confirmRetryMs, counterIntervalMs, counterHeartbeatMs, restProbeMs, steerRetryMs, adopted, adoptMs })
    .filter(([, v]) => v !== undefined)) as DriveHeader['arbiter'];
  return {
    vehicle,
    policy: { ...(input.policy ?? {}) } as Record<string, number | string>,
    site: input.site ?? null,
    uplinks: uplinks.map(({ name, slot, kind }) => ({ name, slot, kind })),
    arbiter,
  };
}

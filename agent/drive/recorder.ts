// Records the drive: every event the arbiter receives (an XState inspection hook) as change-only lines in a file per
// agent start under state_dir/drives, written once a second, the oldest files dropped past a size cap.
import { mkdirSync, readFileSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { DRIVE_FORMAT, DRIVE_VERSION, DriveLineWriter, type DriveHeader, type DriveLine } from '../../shared/wire/drive.js';
import type { ArbiterEvent, ArbiterInput, SwitchRecord } from '../machines/arbiter.machine.js';
import { DriveEncoder } from './drive.codec.js';

export interface DriveRecorderOptions {
  dir: string;
  header: Omit<DriveHeader, 'drive' | 'version' | 'start_wall'>;
  /** The arbiter's clocks: monotonic ms (decisions) and wall ms (its switch records' decided_at). */
  now: () => number;
  wallNow: () => number;
  /** Files in `dir` beyond this many bytes in all are deleted, oldest first (default 64 MB). */
  maxBytes?: number;
  flushMs?: number;
  /** The tunnel's byte counters (rx, tx), read every bytesEveryMs (default 10 s): what time on LTE costs. */
  readBytes?: () => { rx: number; tx: number };
  bytesEveryMs?: number;
  onError?: (err: unknown) => void;
}

export interface DriveRecorder {
  /** createActor's `inspect` option. */
  inspect: (ev: InspectionEvent) => void;
  /** The arbiter actor whose received events are recorded (events before it is attached are not). */
  attach: (arbiter: AnyActorRef) => void;
  /** A switch the agent made (its record, as journaled). */
  switched: (r: SwitchRecord) => void;
  readonly path: string;
  /** Lines and bytes written so far. */
  stats(): { lines: number; bytes: number };
  /** Writes what is buffered; records nothing more. */
  close(): Promise<void>;
}

/** The arbiter events a drive keeps (the others change nothing it decides on). */
const KEPT = new Set(['uplink.status', 'link.changed', 'tunnel.counters', 'operator.switch', 'policy.set', 'watchdog.round']);

export function createDriveRecorder(o: DriveRecorderOptions): DriveRecorder {
  mkdirSync(o.dir, { recursive: true, mode: 0o750 });
  const t0 = o.now();
  const startWall = Math.round(o.wallNow());
  const path = join(o.dir, `drive-${new Date(startWall).toISOString().replace(/[:.]/g, '-')}.jsonl`);
  const enc = new DriveEncoder(t0);
  let root: AnyActorRef | null = null;
  let lastPolicy = JSON.stringify([o.header.policy, o.header.site]);
  let buf: string[] = [];
  let lines = 0;
  let bytes = 0;
  let closed = false;
  let writing: Promise<void> = Promise.resolve();
  const writer = new DriveLineWriter();
  const put = (l: DriveLine | DriveHeader) => {
    const s = writer.text(l);
    buf.push(s);
    lines++;
    bytes += Buffer.byteLength(s);
  };
  put({ drive: DRIVE_FORMAT, version: DRIVE_VERSION, start_wall: startWall, ...o.header });
  prune(o.dir, o.maxBytes ?? 64 * 1024 * 1024, path);

  const flush = () => {
    if (buf.length === 0) return;
    const text = buf.join('');
    buf = [];
    writing = writing.then(() => appendFile(path, text)).catch((err) => o.onError?.(err));
  };
  const timer = setInterval(flush, o.flushMs ?? 1000);
  timer.unref();
  const readBytes = () => {
    try {
      const b = o.readBytes!();
      put({ t: enc.time(o.now()), e: 'b', rx: b.rx, tx: b.tx });
    } catch {
      // the interface is being re-made: the next reading counts
    }
  };
  const bytesTimer = o.readBytes ? setInterval(readBytes, o.bytesEveryMs ?? 10_000) : null;
  bytesTimer?.unref();

  const record = (ev: ArbiterEvent) => {
    const now = o.now();
    switch (ev.type) {
      case 'uplink.status':
        return put(enc.status(now, ev.status));
      case 'tunnel.counters':
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
        return put({ t: enc.time(now), e: 'p', policy: { ...ev.policy } as Record<string, number | string>, site: ev.site });
      }
      case 'watchdog.round':
        if (ev.alarms.length > 0) put({ t: enc.time(now), e: 'w', round: { ...ev } as unknown as Record<string, unknown> });
        return;
    }
  };

  return {
    path,
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
      const mono = r.decided_mono ?? r.decided_at - (o.wallNow() - o.now());
      put({ t: enc.time(o.now()), e: 's', at: enc.time(mono), from: r.from, to: r.to, reason: String(r.reason), confirm_ms: r.ms_to_first_packet });
    },
    stats: () => ({ lines, bytes }),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      if (bytesTimer) clearInterval(bytesTimer);
      flush();
      await writing;
    },
  };
}

/** The tunnel interface's byte counters from sysfs (small synchronous reads, every few seconds). */
export function sysfsBytes(ifname: string, root = '/sys/class/net'): () => { rx: number; tx: number } {
  const read = (f: string) => Number(readFileSync(join(root, ifname, 'statistics', f), 'utf8').trim());
  return () => ({ rx: read('rx_bytes'), tx: read('tx_bytes') });
}

/** Deletes the oldest drive files (never `keep`) until those left fit in maxBytes. */
function prune(dir: string, maxBytes: number, keep: string): void {
  let files: Array<{ path: string; size: number }>;
  try {
    files = readdirSync(dir).filter((f) => /^drive-.*\.jsonl$/.test(f)).sort().map((f) => ({ path: join(dir, f), size: statSync(join(dir, f)).size }));
  } catch {
    return;
  }
  let total = files.reduce((a, f) => a + f.size, 0);
  for (const f of files) {
    if (total <= maxBytes) break;
    if (f.path === keep) continue;
    try {
      unlinkSync(f.path);
      total -= f.size;
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

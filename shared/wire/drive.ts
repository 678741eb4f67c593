// A recorded drive (issue 11): what the arbiter saw, as versioned JSON lines — a header line, then change-only lines.
import { z } from 'zod';
import { InputError } from '../errors.js';
import { uplinkName, vehicleName } from './common.js';

/*
 * The file: one or more segments (an agent start begins one), each a header line then event lines, oldest first.
 * Every event line has its time, whole ms on the agent's monotonic clock since the segment's start, and `e`, its kind.
 * The time is written `t` (the time itself) on a segment's first event line and at least once every DRIVE_ANCHOR_MS,
 * and `d` (ms since the line before) on the others (version 3; DriveLineWriter): absolute times are digits a
 * compressor cannot predict, the steady gaps between lines repeat. Readers hand every line back with its `t`.
 *   u  an uplink's status, as the arbiter received it: only the fields that changed since that uplink's last `u` line
 *      (the first carries them all). Times inside it (k, f) are counted back from the line's t, so a steady uplink
 *      whose probes keep answering writes nothing but its t.
 *   l  a link's carrier changed (netlink), as the arbiter heard it.
 *   c  a reading of the tunnel's counters the arbiter heard of: the fields that changed, times counted back from t.
 *   o  an operator asked for an uplink (`roamlink switch`).
 *   p  new thresholds (a site's profile, or the config's).
 *   w  a watchdog round with an alarm (rounds without one change nothing the arbiter decides).
 *   b  the tunnel's byte counters (rx + tx since the interface was made), every 10 s: what LTE time costs.
 *   s  a switch the agent made (decided at `at`): the baseline a replay is compared with.
 * A replay (agent/drive/replay.ts) decodes the lines back into the arbiter's events and runs the real arbiter on them.
 */

export const DRIVE_FORMAT = 'roamlink-drive';
/** The version this code writes and the newest it reads. 2 (2026-12): `u` lines add `i` (the probe in flight) and `pn`
 *  (the loss window's size), which the far-end rule and a far-end silence's loss read, and the header's arbiter the
 *  tunnel adopted at start (`adopted`, `adoptMs`). 3 (2026-12): times as `d` between anchors. 4 (2026-12-04): `l` is
 *  the lost over 20 also while the window fills (probe.stats lossOf; a replay of an older file converts it), and what the
 *  fast check and the risk rule read: `u` lines add `lo`, `ks` and `fp`, `c` lines `rr`. Older files read as before. */
export const DRIVE_VERSION = 4;
/** The longest a drive goes without an absolute `t` (version 3): a piece HQ receives from the middle of a file learns
 *  its times from the first one in it, and HQ's store dates a segment by its last known time. Every 10 s: a piece
 *  shipped each minute always holds several, a lab run's 2-second pieces date the segment within 10 s (a minute let
 *  a short lab run's segment look older than the run, and its export find nothing); on a steady drive it costs
 *  0.2 % (brotli, 2-minute pieces: 1,648,080 B/day against 1,645,200 with a minute, 1,789,920 with every second). */
export const DRIVE_ANCHOR_MS = 10_000;

const ms = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** A time counted back from the line's t (ms ago): may be negative by rounding, never by much. */
const ago = z.number().int().min(-1000).max(Number.MAX_SAFE_INTEGER);

export const driveUplinkSchema = z.strictObject({ name: uplinkName, slot: z.number().int().min(1).max(64), kind: z.enum(['wifi', 'lte', 'ethernet']) });

/** The arbiter's timing the agent ran with (ArbiterInput's), so a replay runs the same machine. */
export const driveArbiterSchema = z.strictObject({
  initial: uplinkName.optional(),
  settleMs: ms,
  drainMs: ms,
  confirmTimeoutMs: ms,
  confirmRetryMs: ms,
  counterIntervalMs: ms.optional(),
  counterHeartbeatMs: ms.optional(),
  restProbeMs: ms.optional(),
  steerRetryMs: ms.optional(),
  /** The tunnel found carrying on an uplink at start (an agent restart adopts it, no initial switch): version 2. */
  adopted: z.strictObject({ uplink: uplinkName, address: z.string().max(64) }).nullable().optional(),
  adoptMs: ms.optional(),
});

export const driveHeaderSchema = z.strictObject({
  drive: z.literal(DRIVE_FORMAT),
  version: z.number().int().min(1),
  vehicle: vehicleName,
  /** Wall-clock ms at the segment's t = 0. */
  start_wall: ms,
  /** Wall-clock ms switches are counted from (`at_ms`): the lab sets its scenario clock's start; default the first
   *  segment's start_wall. A replay counts only what happens from origin_wall to until_wall (default: the end). */
  origin_wall: ms.optional(),
  until_wall: ms.optional(),
  /** The thresholds in force at the start (a `p` line changes them). */
  policy: z.record(z.string(), z.union([z.number(), z.string()])),
  site: z.string().max(63).nullable(),
  uplinks: z.array(driveUplinkSchema).min(1).max(16),
  arbiter: driveArbiterSchema,
});

const phase = z.enum(['down', 'addressing', 'configuring', 'probing', 'ready']);
export const statusLineSchema = z.strictObject({
  t: ms,
  e: z.literal('u'),
  n: uplinkName,
  ph: phase.optional(),
  /** carrier */
  c: z.boolean().optional(),
  /** the lease's address */
  a: z.string().max(64).nullable().optional(),
  /** ready, addressed */
  r: z.boolean().optional(),
  ad: z.boolean().optional(),
  /** signal dBm */
  s: z.number().min(-200).max(100).nullable().optional(),
  /** smoothed probe RTT, ms */
  q: z.number().min(0).nullable().optional(),
  /** probe loss 0..1 (version 4: the lost among the last 20 over 20; before, over `pn`) */
  l: z.number().min(0).max(1).optional(),
  /** the path's low RTT, ms (version 4) */
  lo: z.number().min(0).nullable().optional(),
  /** when the last answered probe was sent, ms before t (version 4) */
  ks: ago.nullable().optional(),
  /** failing: when the one before the latest was given up, ms before t (version 4) */
  fp: ago.nullable().optional(),
  /** how many probes the loss is over (version 2) */
  pn: z.number().int().min(0).max(1000).optional(),
  /** the probe now out: sent ms before t, null when none (version 2) */
  i: ago.nullable().optional(),
  /** the last probe reply, ms before t */
  k: ago.nullable().optional(),
  /** failing: [since, last_at, ...lost_before], each ms before t */
  f: z.array(ago).min(2).max(64).nullable().optional(),
  /** consecutive misses */
  m: z.number().int().min(0).optional(),
  /** the AP: [ssid, bssid, signal, connect-list entry] */
  ap: z.tuple([z.string().max(64), z.string().max(32), z.number(), z.number().int().nullable()]).nullable().optional(),
  /** radio phase, role, addressing mode */
  rd: z.enum(['scanning', 'associating', 'idle']).nullable().optional(),
  ro: z.enum(['active', 'standby', 'hold-down']).optional(),
  am: z.string().max(16).optional(),
});

export const linkLineSchema = z.strictObject({ t: ms, e: z.literal('l'), n: z.string().max(15), up: z.boolean() });
export const countersLineSchema = z.strictObject({
  t: ms,
  e: z.literal('c'),
  /** when read, when rx and tx last grew: ms before t (null: never) */
  ra: ago.nullable().optional(),
  rx: ago.nullable().optional(),
  tx: ago.nullable().optional(),
  /** moving at that reading: 1 rx, 2 tx (a sum) */
  mv: z.number().int().min(0).max(3).optional(),
  /** the rate packets came back at, per ms (version 4; the fast check's) */
  rr: z.number().min(0).nullable().optional(),
});
export const operatorLineSchema = z.strictObject({ t: ms, e: z.literal('o'), to: uplinkName });
export const policyLineSchema = z.strictObject({ t: ms, e: z.literal('p'), policy: z.record(z.string(), z.union([z.number(), z.string()])), site: z.string().max(63).nullable() });
export const watchdogLineSchema = z.strictObject({ t: ms, e: z.literal('w'), round: z.record(z.string(), z.unknown()) });
export const switchLineSchema = z.strictObject({
  t: ms,
  e: z.literal('s'),
  /** when it was decided (t is when it was confirmed or given up, and written) */
  at: ms,
  from: uplinkName.nullable(),
  to: uplinkName,
  reason: z.string().max(32),
  /** decision to the first reply on the new path; null when unconfirmed */
  confirm_ms: z.number().min(0).nullable(),
});

export const bytesLineSchema = z.strictObject({ t: ms, e: z.literal('b'), rx: ms, tx: ms });

export const driveLineSchema = z.discriminatedUnion('e', [
  statusLineSchema, linkLineSchema, countersLineSchema, operatorLineSchema, policyLineSchema, watchdogLineSchema, switchLineSchema, bytesLineSchema,
]);

export type DriveHeader = z.infer<typeof driveHeaderSchema>;
export type DriveLine = z.infer<typeof driveLineSchema>;
export type StatusLine = z.infer<typeof statusLineSchema>;
export type CountersLine = z.infer<typeof countersLineSchema>;
export type SwitchLine = z.infer<typeof switchLineSchema>;

export interface DriveSegment {
  header: DriveHeader;
  /** 1-based line number of the header in the file. */
  line: number;
  events: DriveLine[];
}

/** A drive file that cannot be read: names the line (1-based) and what was wrong. */
export class DriveError extends InputError {
  constructor(readonly line: number, message: string, what = 'drive') {
    super(message, `${what} line ${line}`);
  }
}

function isHeader(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && (v as Record<string, unknown>).drive === DRIVE_FORMAT;
}

/**
 * Writes a drive's lines as the file holds them (version 3): the header as it is; an event line with `t` when it is
 * its segment's first, DRIVE_ANCHOR_MS or more after the last `t`, or (never, from the recorder) earlier than the
 * line before; else with `d`, ms since the line before. One writer per file, fed in order.
 */
export class DriveLineWriter {
  private prev: number | null = null;
  private anchor: number | null = null;

  text(line: DriveLine | DriveHeader): string {
    if ('drive' in line) {
      this.prev = this.anchor = null;
      return `${JSON.stringify(line)}\n`;
    }
    const { t, ...rest } = line;
    if (this.prev === null || this.anchor === null || t - this.anchor >= DRIVE_ANCHOR_MS || t < this.prev) {
      this.prev = this.anchor = t;
      return `${JSON.stringify(line)}\n`;
    }
    const d = t - this.prev;
    this.prev = t;
    return `${JSON.stringify({ d, ...rest })}\n`;
  }
}

/**
 * A line's `t` from its `d` (and the line before's time, null when not known: a piece's lines before its first `t`),
 * the line given back with `t` and without `d`; `t` null when it cannot be known. Throws naming what is wrong.
 */
function withTime(v: Record<string, unknown>, prev: number | null): { line: Record<string, unknown>; t: number | null } {
  if (!('d' in v)) return { line: v, t: typeof v.t === 'number' ? v.t : null };
  const { d, ...rest } = v;
  if ('t' in v) throw new Error('d: a line has t or d, not both');
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > 86_400_000) throw new Error('d: must be whole ms since the line before, ≥ 0');
  const t = prev === null ? null : prev + d;
  return { line: { ...rest, t: t ?? 0 }, t };
}

function issue(err: z.ZodError): string {
  const i = err.issues[0]!;
  return `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`;
}

/**
 * Parses a drive file: every line checked, events in time order within a segment. Throws a DriveError naming the
 * line for a file that is not a drive, from a newer version, truncated (a last line cut short), or bad anywhere.
 */
export function parseDrive(text: string, what = 'drive'): DriveSegment[] {
  const lines = text.split('\n');
  const last = lines.pop();
  if (last !== undefined && last !== '') {
    // The writer ends every line: a last line without its newline was cut short.
    throw new DriveError(lines.length + 1, `truncated: the last line has no end${safeJson(last) ? '' : ' (and is not whole JSON)'}`, what);
  }
  const segments: DriveSegment[] = [];
  let seg: DriveSegment | null = null;
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      throw new DriveError(n, seg ? 'not JSON' : 'not a roamlink drive (the first line is not JSON)', what);
    }
    if (isHeader(v)) {
      if (typeof v.version === 'number' && v.version > DRIVE_VERSION) {
        throw new DriveError(n, `drive format version ${v.version} is newer than this roamlink reads (${DRIVE_VERSION}): upgrade roamlink`, what);
      }
      const h = driveHeaderSchema.safeParse(v);
      if (!h.success) throw new DriveError(n, `bad header: ${issue(h.error)}`, what);
      seg = { header: h.data, line: n, events: [] };
      segments.push(seg);
      continue;
    }
    if (!seg) throw new DriveError(n, `not a roamlink drive (no "drive": "${DRIVE_FORMAT}" header line before this one)`, what);
    const prev = seg.events.at(-1);
    let timed;
    try {
      timed = withTime(v as Record<string, unknown>, prev?.t ?? null);
    } catch (err) {
      throw new DriveError(n, (err as Error).message, what);
    }
    if (timed.t === null && 'd' in (v as object)) throw new DriveError(n, 'd: a time since the line before, with no line before it in the segment', what);
    const e = driveLineSchema.safeParse(timed.line);
    if (!e.success) throw new DriveError(n, issue(e.error), what);
    if (prev && e.data.t < prev.t) throw new DriveError(n, `t ${e.data.t} goes back in time (the line before has ${prev.t})`, what);
    seg.events.push(e.data);
  }
  if (segments.length === 0) throw new DriveError(1, 'not a roamlink drive (empty)', what);
  return segments;
}

function safeJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

/** What a piece of a drive file holds (checkDriveChunk): its header when it starts the file, its last t, the sites in it. */
export interface DriveChunkInfo {
  header: DriveHeader | null;
  lines: number;
  /** The last line's t (segment ms), or null when it holds no event line or none whose time it can know. */
  lastT: number | null;
  /** Every site named in it (the header's, `p` lines'). */
  sites: string[];
}

/**
 * Checks a piece of a drive file that starts at a line boundary (as an agent ships it): whole lines only, each a drive
 * line, a header first when `atStart` (and only then), times never going back. Throws a DriveError naming the line
 * counted within the piece.
 */
export function checkDriveChunk(text: string, atStart: boolean, what = 'drive chunk'): DriveChunkInfo {
  if (text.length === 0) throw new DriveError(1, 'empty', what);
  if (!text.endsWith('\n')) throw new DriveError(text.split('\n').length, 'truncated: the last line has no end', what);
  const lines = text.slice(0, -1).split('\n');
  let header: DriveHeader | null = null;
  let lastT: number | null = null;
  const sites = new Set<string>();
  lines.forEach((raw, i) => {
    const n = i + 1;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      throw new DriveError(n, 'not JSON', what);
    }
    if (isHeader(v)) {
      if (!(atStart && i === 0)) throw new DriveError(n, 'a header line is only the first line of a drive file', what);
      if (typeof v.version === 'number' && v.version > DRIVE_VERSION) throw new DriveError(n, `drive format version ${v.version} is newer than this roamlink reads (${DRIVE_VERSION})`, what);
      const h = driveHeaderSchema.safeParse(v);
      if (!h.success) throw new DriveError(n, `bad header: ${issue(h.error)}`, what);
      header = h.data;
      if (h.data.site !== null) sites.add(h.data.site);
      return;
    }
    if (atStart && i === 0) throw new DriveError(n, `not a roamlink drive (no "drive": "${DRIVE_FORMAT}" header line first)`, what);
    // A piece from the middle of a file: its lines before the first `t` have times it cannot know (their order holds).
    let timed;
    try {
      timed = withTime(v as Record<string, unknown>, lastT);
    } catch (err) {
      throw new DriveError(n, (err as Error).message, what);
    }
    const e = driveLineSchema.safeParse(timed.line);
    if (!e.success) throw new DriveError(n, issue(e.error), what);
    if (timed.t !== null && lastT !== null && timed.t < lastT) throw new DriveError(n, `t ${timed.t} goes back in time (the line before has ${lastT})`, what);
    if (timed.t !== null) lastT = timed.t;
    if (e.data.e === 'p' && e.data.site !== null) sites.add(e.data.site);
  });
  return { header, lines: lines.length, lastT, sites: [...sites] };
}

/**
 * One drive from whole segment texts (each a header line then its events, oldest first): the first header gets
 * origin_wall and until_wall, so a replay counts `at_ms` from origin and stops at until. What it returns reads back
 * (parseDrive), or this throws naming the line.
 */
export function joinDrive(segments: readonly string[], originWall: number, untilWall: number, what = 'drive'): string {
  if (segments.length === 0) throw new DriveError(1, 'no drive recorded', what);
  const text = segments.map((t) => (t.endsWith('\n') ? t : t.slice(0, t.lastIndexOf('\n') + 1))).join('');
  const nl = text.indexOf('\n');
  const header = JSON.parse(text.slice(0, nl)) as Record<string, unknown>;
  const joined = `${JSON.stringify({ ...header, origin_wall: Math.round(originWall), until_wall: Math.round(untilWall) })}${text.slice(nl)}`;
  parseDrive(joined, what);
  return joined;
}

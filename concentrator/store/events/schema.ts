// The switch log's table and row shapes: one row per switch event, unique by (vehicle, id), indexed by (vehicle, at) and (vehicle, seq).
import type { Candidate, Mono, SwitchEvent, WhyRecord } from '../../../shared/wire/switch-event.js';
import { eventTime, type EventTime, type TimeQuality } from './time.js';
import type { TableSpec } from '../table.js';

/** The switch log's table, defined once: `unique` is version 1's id-only key or version 2's (vehicle, id). */
function eventsTable(name: string, unique: 'id' | 'vehicle, id'): string {
  return `
CREATE TABLE ${name} (
  rowid              INTEGER PRIMARY KEY,
  id                 BLOB NOT NULL${unique === 'id' ? ' UNIQUE' : ''},
  vehicle            TEXT NOT NULL,
  seq                INTEGER NOT NULL,
  at                 INTEGER NOT NULL,
  from_uplink        TEXT,
  to_uplink          TEXT NOT NULL,
  reason             TEXT NOT NULL,
  site               TEXT,
  ms_to_first_packet REAL,
  gap_ms             REAL,
  detail             TEXT NOT NULL,
  received_at        INTEGER NOT NULL${unique === 'id' ? '' : `,
  UNIQUE (vehicle, id)`}
);`;
}
const AT_INDEXES = `
CREATE INDEX switch_events_vehicle_at ON switch_events(vehicle, at);
CREATE INDEX switch_events_at ON switch_events(at);
`;
const V1_COLUMNS = 'rowid, id, vehicle, seq, at, from_uplink, to_uplink, reason, site, ms_to_first_packet, gap_ms, detail, received_at';

/**
 * Its own database file (switchlog.sqlite), not the registry's: it is the high-volume table (millions of rows,
 * pruned by retention), so its writes and vacuums never hold up registry changes.
 * `id` is the event's UUID as 16 bytes, unique per vehicle (schema version 2); `at` is ms since the epoch (HQ's best
 * time for it: version 4); `detail` holds the rest as JSON.
 */
export const EVENTS_MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  { version: 1, sql: eventsTable('switch_events', 'id') + AT_INDEXES },
  {
    // Event ids unique per vehicle (issue 12): one vehicle's id must not shadow another's. The table is rebuilt once
    // (SQLite cannot drop a column's UNIQUE); rowids are kept, so followers' cursors stay valid.
    version: 2,
    sql: `${eventsTable('switch_events_v2', 'vehicle, id')}
INSERT INTO switch_events_v2 SELECT ${V1_COLUMNS} FROM switch_events;
DROP TABLE switch_events;
ALTER TABLE switch_events_v2 RENAME TO switch_events;
${AT_INDEXES}`,
  },
  {
    // Retention goes by when HQ received an event (its own clock), not by the vehicle's `at` (a clock that booted in
    // the past would have its events pruned on arrival).
    version: 3,
    sql: `CREATE INDEX switch_events_received_at ON switch_events(received_at);`,
  },
  {
    // Time (issue 11): `at` becomes HQ's best time for the event; the vehicle's own is kept beside it, with how good
    // the time is and the vehicle's clock offset (store/events/time.ts). NULL in rows from before: `at` is the
    // vehicle's, unchecked. A vehicle's log is ordered by seq (0: the agent sent none). Columns are added, not rebuilt.
    version: 4,
    sql: `
ALTER TABLE switch_events ADD COLUMN vehicle_at INTEGER;
ALTER TABLE switch_events ADD COLUMN time_quality TEXT;
ALTER TABLE switch_events ADD COLUMN clock_offset_ms INTEGER;
CREATE INDEX switch_events_vehicle_seq ON switch_events(vehicle, seq);
`,
  },
  {
    // The follow cursor is a column of our own (issue 14), named the same in SQLite and PostgreSQL (a sequence there),
    // not SQLite's rowid: renamed in place, values kept, so followers' cursors stay valid. It is still SQLite's
    // INTEGER PRIMARY KEY (max + 1): a number is given again only if the newest row were deleted, which retention
    // does only when nothing arrived for log_retention_days.
    version: 5,
    sql: `ALTER TABLE switch_events RENAME COLUMN rowid TO log_id;`,
  },
];

/**
 * The switch log's table in its latest form: what SQLite's steps above arrive at (they keep their history: a released
 * step is never edited), and what PostgreSQL's first step creates. store.schema.test checks the two agree.
 */
export const SWITCH_EVENTS_TABLE: TableSpec = {
  name: 'switch_events',
  columns: [
    { name: 'log_id', kind: 'id' },
    { name: 'id', kind: 'blob', notNull: true },
    { name: 'vehicle', kind: 'text', notNull: true },
    { name: 'seq', kind: 'int', notNull: true },
    { name: 'at', kind: 'int', notNull: true },
    { name: 'from_uplink', kind: 'text' },
    { name: 'to_uplink', kind: 'text', notNull: true },
    { name: 'reason', kind: 'text', notNull: true },
    { name: 'site', kind: 'text' },
    { name: 'ms_to_first_packet', kind: 'real' },
    { name: 'gap_ms', kind: 'real' },
    { name: 'detail', kind: 'text', notNull: true },
    { name: 'received_at', kind: 'int', notNull: true },
    { name: 'vehicle_at', kind: 'int' },
    { name: 'time_quality', kind: 'text' },
    { name: 'clock_offset_ms', kind: 'int' },
  ],
  unique: [['vehicle', 'id']],
  indexes: [
    { name: 'switch_events_vehicle_at', columns: ['vehicle', 'at'] },
    { name: 'switch_events_at', columns: ['at'] },
    { name: 'switch_events_received_at', columns: ['received_at'] },
    { name: 'switch_events_vehicle_seq', columns: ['vehicle', 'seq'] },
  ],
};

export interface EventRow {
  log_id: number;
  id: Buffer;
  vehicle: string;
  seq: number;
  at: number;
  from_uplink: string | null;
  to_uplink: string;
  reason: string;
  site: string | null;
  ms_to_first_packet: number | null;
  gap_ms: number | null;
  detail: string;
  received_at: number;
  vehicle_at: number | null;
  time_quality: TimeQuality | null;
  clock_offset_ms: number | null;
}

/** A stored event as the log query, the API and `roamlink log --json` show it. */
export interface StoredEvent extends Omit<SwitchEvent, 'seq'> {
  /** Insertion order at HQ: a cursor for following the log (the column log_id; `rowid` in the API since version 1). */
  rowid: number;
  /** The agent's journal order (null: the agent sent none). */
  seq: number | null;
  /** HQ's best time for the switch (store/events/time.ts); the vehicle's own is `vehicle_at`. */
  at: string;
  vehicle_at: string;
  /** ok, corrected, estimated (unreliable) or unchecked. */
  time_quality: TimeQuality;
  /** HQ's clock minus the vehicle's for this event, when known (ms). */
  clock_offset_ms: number | null;
  received_at: string;
}

/** An event on its way into the store, with HQ's time for it (absent: reckoned from nothing but receive time). */
export type TimedEvent = SwitchEvent & { time?: EventTime };

export function uuidToBlob(id: string): Buffer {
  return Buffer.from(id.replace(/-/g, ''), 'hex');
}

export function blobToUuid(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function toRow(e: TimedEvent, receivedAt: number): Omit<EventRow, 'log_id'> {
  const t = e.time ?? eventTime(e, null, receivedAt);
  return {
    id: uuidToBlob(e.id),
    vehicle: e.vehicle,
    seq: e.seq ?? 0,
    at: t.at,
    from_uplink: e.from,
    to_uplink: e.to,
    reason: e.reason,
    site: e.site,
    ms_to_first_packet: e.ms_to_first_packet,
    gap_ms: e.gap_ms,
    detail: JSON.stringify({ why: e.why, candidates: e.candidates, ...(e.mono ? { mono: e.mono } : {}) }),
    received_at: receivedAt,
    vehicle_at: t.vehicleAt,
    time_quality: t.quality,
    clock_offset_ms: t.offsetMs,
  };
}

/** A row stored before the why was a record: its text, nothing else known. */
function oldWhy(text: string): WhyRecord {
  return { rule: 'unknown', text, operator: false, site: null, policy: null, candidates: [] };
}

export function fromRow(r: EventRow): StoredEvent {
  const d = JSON.parse(r.detail) as { why?: WhyRecord | string | null; candidates?: Candidate[]; mono?: Mono };
  return {
    rowid: r.log_id,
    id: blobToUuid(r.id),
    vehicle: r.vehicle,
    seq: r.seq > 0 ? r.seq : null,
    at: new Date(r.at).toISOString(),
    vehicle_at: new Date(r.vehicle_at ?? r.at).toISOString(),
    time_quality: r.time_quality ?? 'unchecked',
    clock_offset_ms: r.clock_offset_ms,
    ...(d.mono ? { mono: d.mono } : {}),
    from: r.from_uplink,
    to: r.to_uplink,
    reason: r.reason as SwitchEvent['reason'], // validated on the way in (shared/reasons.ts)
    why: typeof d.why === 'string' ? oldWhy(d.why) : (d.why ?? null),
    ms_to_first_packet: r.ms_to_first_packet,
    gap_ms: r.gap_ms,
    candidates: d.candidates ?? [],
    site: r.site,
    received_at: new Date(r.received_at).toISOString(),
  };
}

// The switch log's table and row shapes: one row per switch event, unique by (vehicle, id), indexed by (vehicle, at).
import type { Candidate, SwitchEvent, WhyRecord } from '../../../shared/wire/switch-event.js';

/**
 * Its own database file (switchlog.sqlite), not the registry's: it is the high-volume table (millions of rows,
 * pruned by retention), so its writes and vacuums never hold up registry changes.
 * `id` is the event's UUID as 16 bytes, unique per vehicle (schema version 2); `at` is ms since the epoch; `detail` holds the rest as JSON.
 */
export const EVENTS_MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
CREATE TABLE switch_events (
  rowid              INTEGER PRIMARY KEY,
  id                 BLOB NOT NULL UNIQUE,
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
  received_at        INTEGER NOT NULL
);
CREATE INDEX switch_events_vehicle_at ON switch_events(vehicle, at);
CREATE INDEX switch_events_at ON switch_events(at);
`,
  },
  {
    // Event ids unique per vehicle (issue 12): one vehicle's id must not shadow another's. The table is rebuilt once
    // (SQLite cannot drop a column's UNIQUE); rowids are kept, so followers' cursors stay valid.
    version: 2,
    sql: `
CREATE TABLE switch_events_v2 (
  rowid              INTEGER PRIMARY KEY,
  id                 BLOB NOT NULL,
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
  received_at        INTEGER NOT NULL,
  UNIQUE (vehicle, id)
);
INSERT INTO switch_events_v2 SELECT rowid, id, vehicle, seq, at, from_uplink, to_uplink, reason, site, ms_to_first_packet, gap_ms, detail, received_at FROM switch_events;
DROP TABLE switch_events;
ALTER TABLE switch_events_v2 RENAME TO switch_events;
CREATE INDEX switch_events_vehicle_at ON switch_events(vehicle, at);
CREATE INDEX switch_events_at ON switch_events(at);
`,
  },
  {
    // Retention goes by when HQ received an event (its own clock), not by the vehicle's `at` (a clock that booted in
    // the past would have its events pruned on arrival).
    version: 3,
    sql: `CREATE INDEX switch_events_received_at ON switch_events(received_at);`,
  },
];

/** How far ahead of HQ's receive time an event's `at` may be; a later `at` is stored as receive time + this. */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;

/** The event as stored: its `at` no later than MAX_FUTURE_SKEW_MS after `receivedAt` (a vehicle's clock far ahead). */
export function clampAt<E extends SwitchEvent>(e: E, receivedAt: number): E {
  const limit = receivedAt + MAX_FUTURE_SKEW_MS;
  return Date.parse(e.at) > limit ? { ...e, at: new Date(limit).toISOString() } : e;
}

export interface EventRow {
  rowid: number;
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
}

/** A stored event as the log query, the API and `roamlink log --json` show it. */
export interface StoredEvent extends SwitchEvent {
  /** Insertion order at HQ: a cursor for following the log. */
  rowid: number;
  received_at: string;
}

export function uuidToBlob(id: string): Buffer {
  return Buffer.from(id.replace(/-/g, ''), 'hex');
}

export function blobToUuid(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function toRow(e: SwitchEvent, receivedAt: number): Omit<EventRow, 'rowid'> {
  return {
    id: uuidToBlob(e.id),
    vehicle: e.vehicle,
    seq: e.seq,
    at: Date.parse(e.at),
    from_uplink: e.from,
    to_uplink: e.to,
    reason: e.reason,
    site: e.site,
    ms_to_first_packet: e.ms_to_first_packet,
    gap_ms: e.gap_ms,
    detail: JSON.stringify({ why: e.why, candidates: e.candidates }),
    received_at: receivedAt,
  };
}

/** A row stored before the why was a record: its text, nothing else known. */
function oldWhy(text: string): WhyRecord {
  return { rule: 'unknown', text, operator: false, site: null, policy: null, candidates: [] };
}

export function fromRow(r: EventRow): StoredEvent {
  const d = JSON.parse(r.detail) as { why?: WhyRecord | string | null; candidates?: Candidate[] };
  return {
    rowid: r.rowid,
    id: blobToUuid(r.id),
    vehicle: r.vehicle,
    seq: r.seq,
    at: new Date(r.at).toISOString(),
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

// The switch log store: idempotent ingest by (vehicle, event id) (ON CONFLICT DO NOTHING, one transaction per batch),
// each event's time as HQ reckons it (store/events/time.ts), the log query (a vehicle's in seq order), retention.
// One SQL for SQLite and PostgreSQL (store/sql.ts); the cursor is the log_id column, a sequence in both.
import { CompiledQuery, sql, type RawBuilder } from 'kysely';
import { realClock } from '../../../shared/clock.js';
import type { SwitchEvent } from '../../../shared/wire/switch-event.js';
import { sqliteStore, type StoreDb } from '../sql.js';
import type { EventsDb } from './db.js';
import { fromRow, toRow, type EventRow, type StoredEvent, type TimedEvent } from './schema.js';
import { COLUMNS, INSERT_ROWS, insertText } from './insert.js';
import type { EventWriter } from './writer.js';

/** What `roamlink log`, the admin API and the dashboard filter on. Times are ms since the epoch. */
export interface LogFilter {
  vehicle?: string;
  site?: string;
  /** Switches from or to this uplink. */
  uplink?: string;
  reason?: string;
  /** at ≥ since. */
  sinceMs?: number;
  /** at ≤ until. */
  untilMs?: number;
  /** Only rows stored after this cursor (follow), in the order they were stored. */
  afterRowid?: number;
  /** Only rows stored up to this cursor (a snapshot to follow on from without printing a row twice). */
  uptoRowid?: number;
  limit?: number;
  /** Newest first (the dashboard's timeline); default oldest first. */
  desc?: boolean;
}

export interface IngestResult {
  /** Events stored by this call (not seen before), in the batch's order; `at` is HQ's time for each. */
  inserted: SwitchEvent[];
  duplicates: number;
}

/** Rows per page when iterating a large log. */
const PAGE = 2000;

type Order = { keys: Array<{ col: 'log_id' | 'seq' | 'at' | 'vehicle'; of: (r: EventRow) => number | string }>; desc: boolean };

/** A stored row's key: its vehicle and id (as hex). */
const key = (vehicle: string, idHex: string) => `${vehicle}\u0000${idHex}`;


export class EventStore {
  readonly store: StoreDb;
  private readonly now: () => number;
  private readonly writer: EventWriter | null;

  constructor(
    /** The switch log's database: an open SQLite file (openEventsDb) or a store (SQLite or PostgreSQL). */
    db: EventsDb | StoreDb,
    opts: {
      /** HQ's wall clock (ms since the epoch): received_at. Default realClock.wallNow. */
      now?: () => number;
      /** The writes (ingest, prune) go to this writer thread on the same file or database (writer.ts); reads stay on `db`. */
      writer?: EventWriter;
    } = {},
  ) {
    this.store = 'dialect' in db ? db : sqliteStore(db);
    this.now = opts.now ?? realClock.wallNow;
    this.writer = opts.writer ?? null;
  }

  /**
   * Stores the events not already stored (by vehicle and id) in one transaction: all of them, or none when it throws.
   * An event whose id that vehicle stored already is a duplicate (a retry after a lost acknowledgement) and changes
   * nothing; another vehicle's event with the same id is its own. `inserted` holds the events as stored: `at` is HQ's
   * time (`time`, reckoned by the agents' API from the batch's clock; without it, from the receive time alone).
   */
  async ingest(events: readonly TimedEvent[]): Promise<IngestResult> {
    return (await this.ingestMany([events]))[0]!;
  }

  /** Several batches in one transaction (group commit: one fsync for all of them), as multi-row INSERTs. */
  async ingestMany(batches: ReadonlyArray<readonly TimedEvent[]>): Promise<IngestResult[]> {
    const receivedAt = this.now();
    const rows = batches.map((events) => events.map((e) => toRow(e, receivedAt)));
    const flat = rows.flat();
    const stored = new Set<string>();
    const insert = async (q: StoreDb['db']) => {
      for (let i = 0; i < flat.length; i += INSERT_ROWS) {
        const chunk = flat.slice(i, i + INSERT_ROWS);
        const params: unknown[] = [];
        for (const r of chunk) for (const c of COLUMNS) params.push(r[c]);
        // Only a duplicate (vehicle, id) is skipped; any other constraint failing aborts the whole transaction.
        const r = await q.executeQuery<{ vehicle: string; id: Buffer }>(CompiledQuery.raw(insertText(this.store.dialect, chunk.length), params));
        for (const x of r.rows) stored.add(key(x.vehicle, Buffer.from(x.id).toString('hex')));
      }
    };
    if (this.writer && flat.length) {
      // Ids go as hex (a 16-byte Buffer is a view of an 8 KB pool, which a message to a thread would copy whole).
      const params: unknown[] = [];
      for (const r of flat) for (const c of COLUMNS) params.push(c === 'id' ? r.id.toString('hex') : r[c]);
      for (const x of await this.writer.insert(params)) stored.add(key(x.vehicle, x.id));
    } else if (flat.length > INSERT_ROWS) await this.store.db.transaction().execute(insert);
    else if (flat.length) await insert(this.store.db);
    // The first occurrence of a stored key is the one inserted; any later one (in this call) is a duplicate.
    return batches.map((events, b) => {
      const inserted: SwitchEvent[] = [];
      let duplicates = 0;
      events.forEach((e, i) => {
        const row = rows[b]![i]!;
        const k = key(row.vehicle, row.id.toString('hex'));
        if (stored.delete(k)) {
          const { time: _t, ...event } = e;
          inserted.push({ ...event, at: new Date(row.at).toISOString() });
        } else duplicates++;
      });
      return { inserted, duplicates };
    });
  }

  private where(f: LogFilter): RawBuilder<unknown>[] {
    const w: RawBuilder<unknown>[] = [];
    if (f.vehicle !== undefined) w.push(sql`vehicle = ${f.vehicle}`);
    if (f.site !== undefined) w.push(sql`site = ${f.site}`);
    if (f.uplink !== undefined) w.push(sql`(from_uplink = ${f.uplink} OR to_uplink = ${f.uplink})`);
    if (f.reason !== undefined) w.push(sql`reason = ${f.reason}`);
    if (f.sinceMs !== undefined) w.push(sql`at >= ${Math.floor(f.sinceMs)}`);
    if (f.untilMs !== undefined) w.push(sql`at <= ${Math.floor(f.untilMs)}`);
    if (f.afterRowid !== undefined) w.push(sql`log_id > ${Math.floor(f.afterRowid)}`);
    if (f.uptoRowid !== undefined) w.push(sql`log_id <= ${Math.floor(f.uptoRowid)}`);
    return w;
  }

  /** One vehicle: in its journal's order (seq), whatever its clock said; the fleet: by HQ's time; after a cursor: stored order. */
  private order(f: LogFilter): Order {
    const col = <C extends Order['keys'][number]['col']>(c: C) => ({ col: c, of: (r: EventRow) => r[c] });
    const keys = f.afterRowid !== undefined ? [col('log_id')] : f.vehicle !== undefined ? [col('seq'), col('at'), col('log_id')] : [col('at'), col('vehicle'), col('seq'), col('log_id')];
    return { keys, desc: f.desc ?? false };
  }

  private async page(f: LogFilter, o: Order, limit: number | undefined, after: EventRow | null): Promise<EventRow[]> {
    const w = this.where(f);
    const dir = o.desc ? 'DESC' : 'ASC';
    // Keyset paging: the row after the last one read, in the same order (row values: SQLite and PostgreSQL both).
    if (after) w.push(sql`(${sql.raw(o.keys.map((k) => k.col).join(', '))}) ${sql.raw(o.desc ? '<' : '>')} (${sql.join(o.keys.map((k) => k.of(after)))})`);
    const orderBy = sql.raw(o.keys.map((k) => `${k.col} ${dir}`).join(', '));
    const lim = limit !== undefined ? sql` LIMIT ${Math.max(0, Math.floor(limit))}` : sql``;
    const r = await sql<EventRow>`SELECT * FROM switch_events${w.length ? sql` WHERE ${sql.join(w, sql` AND `)}` : sql``} ORDER BY ${orderBy}${lim}`.execute(this.store.db);
    return r.rows;
  }

  /** The log, oldest first (a vehicle's by seq; the fleet's by when each switch happened), or in stored order after a cursor. */
  async query(f: LogFilter = {}): Promise<StoredEvent[]> {
    return (await this.page(f, this.order(f), f.limit, null)).map(fromRow);
  }

  /** Like query(), a page at a time (a large `roamlink log --json`), each page read after the last row of the one before. */
  async *iterate(f: LogFilter = {}): AsyncGenerator<StoredEvent> {
    const o = this.order(f);
    let left = f.limit ?? Infinity;
    let last: EventRow | null = null;
    while (left > 0) {
      const rows = await this.page(f, o, Math.min(PAGE, left), last);
      for (const r of rows) yield fromRow(r);
      left -= rows.length;
      if (rows.length < Math.min(PAGE, left + rows.length)) return;
      last = rows[rows.length - 1]!;
    }
  }

  /** The cursor of the newest stored row (0 when empty). */
  async maxRowid(): Promise<number> {
    return (await sql<{ m: number | null }>`SELECT MAX(log_id) AS m FROM switch_events`.execute(this.store.db)).rows[0]!.m ?? 0;
  }

  async count(): Promise<number> {
    return Number((await sql<{ n: number }>`SELECT COUNT(*) AS n FROM switch_events`.execute(this.store.db)).rows[0]!.n);
  }

  /** A vehicle's latest switch (by seq: its clock may have stepped back). */
  async last(vehicle: string): Promise<StoredEvent | null> {
    const r = (await sql<EventRow>`SELECT * FROM switch_events WHERE vehicle = ${vehicle} ORDER BY seq DESC, at DESC LIMIT 1`.execute(this.store.db)).rows[0];
    return r ? fromRow(r) : null;
  }

  /** Retention: deletes events HQ received before `beforeMs` (HQ's clock, whatever the vehicle's said), `chunk` rows per
   *  statement; returns how many. */
  async prune(beforeMs: number, chunk = 10_000): Promise<number> {
    let total = 0;
    for (;;) {
      if (this.writer) {
        const n = await this.writer.prune(Math.floor(beforeMs), chunk);
        total += n;
        if (n < chunk) return total;
        continue;
      }
      const r = await sql`DELETE FROM switch_events WHERE log_id IN (SELECT log_id FROM switch_events WHERE received_at < ${Math.floor(beforeMs)} ORDER BY received_at LIMIT ${chunk})`.execute(this.store.db);
      const n = Number(r.numAffectedRows ?? 0n);
      total += n;
      if (n < chunk) return total;
    }
  }
}

// The switch log store: idempotent ingest by (vehicle, event id) (ON CONFLICT DO NOTHING, one transaction per batch),
// each event's time as HQ reckons it (store/events/time.ts), the log query (a vehicle's in seq order), retention.
import { realClock } from '../../../shared/clock.js';
import type { Statement } from 'better-sqlite3';
import type { SwitchEvent } from '../../../shared/wire/switch-event.js';
import type { EventsDb } from './db.js';
import { fromRow, toRow, type EventRow, type StoredEvent, type TimedEvent } from './schema.js';

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

export class EventStore {
  private readonly insert: Statement;
  private readonly stmts = new Map<string, Statement>();
  private readonly now: () => number;

  constructor(
    readonly db: EventsDb,
    /** HQ's wall clock (ms since the epoch): received_at. Default realClock.wallNow. */
    opts: { now?: () => number } = {},
  ) {
    this.now = opts.now ?? realClock.wallNow;
    this.insert = db.prepare(
      // Only a duplicate (vehicle, id) is ignored; any other constraint failing aborts the whole transaction.
      `INSERT INTO switch_events (id, vehicle, seq, at, from_uplink, to_uplink, reason, site, ms_to_first_packet, gap_ms, detail, received_at, vehicle_at, time_quality, clock_offset_ms)
       VALUES (@id, @vehicle, @seq, @at, @from_uplink, @to_uplink, @reason, @site, @ms_to_first_packet, @gap_ms, @detail, @received_at, @vehicle_at, @time_quality, @clock_offset_ms)
       ON CONFLICT (vehicle, id) DO NOTHING`,
    );
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

  /** Several batches in one transaction (group commit: one fsync for all of them). */
  async ingestMany(batches: ReadonlyArray<readonly TimedEvent[]>): Promise<IngestResult[]> {
    const receivedAt = this.now();
    const tx = this.db.transaction(() =>
      batches.map((events) => {
        const inserted: SwitchEvent[] = [];
        let duplicates = 0;
        for (const e of events) {
          const row = toRow(e, receivedAt);
          if (this.insert.run(row).changes === 1) {
            const { time: _t, ...event } = e;
            inserted.push({ ...event, at: new Date(row.at).toISOString() });
          } else duplicates++;
        }
        return { inserted, duplicates };
      }),
    );
    return tx.immediate();
  }

  private stmt(sql: string): Statement {
    let s = this.stmts.get(sql);
    if (!s) this.stmts.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  private select(f: LogFilter): { sql: string; params: Record<string, unknown> } {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (f.vehicle !== undefined) (where.push('vehicle = @vehicle'), (params.vehicle = f.vehicle));
    if (f.site !== undefined) (where.push('site = @site'), (params.site = f.site));
    if (f.uplink !== undefined) (where.push('(from_uplink = @uplink OR to_uplink = @uplink)'), (params.uplink = f.uplink));
    if (f.reason !== undefined) (where.push('reason = @reason'), (params.reason = f.reason));
    if (f.sinceMs !== undefined) (where.push('at >= @since'), (params.since = Math.floor(f.sinceMs)));
    if (f.untilMs !== undefined) (where.push('at <= @until'), (params.until = Math.floor(f.untilMs)));
    if (f.afterRowid !== undefined) (where.push('rowid > @after'), (params.after = Math.floor(f.afterRowid)));
    if (f.uptoRowid !== undefined) (where.push('rowid <= @upto'), (params.upto = Math.floor(f.uptoRowid)));
    const dir = f.desc ? 'DESC' : 'ASC';
    // One vehicle: in its journal's order (seq), whatever its clock said; the fleet: by HQ's time for each switch.
    const order = f.afterRowid !== undefined ? `rowid ${dir}` : f.vehicle !== undefined ? `seq ${dir}, at ${dir}` : `at ${dir}, vehicle ${dir}, seq ${dir}`;
    const limit = f.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(f.limit))}` : '';
    return { sql: `SELECT * FROM switch_events${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order}${limit}`, params };
  }

  /** The log, oldest first (a vehicle's by seq; the fleet's by when each switch happened), or in stored order after a cursor. */
  async query(f: LogFilter = {}): Promise<StoredEvent[]> {
    const { sql, params } = this.select(f);
    return (this.stmt(sql).all(params) as EventRow[]).map(fromRow);
  }

  /** Like query(), one row at a time (a large `roamlink log --json`). */
  async *iterate(f: LogFilter = {}): AsyncGenerator<StoredEvent> {
    const { sql, params } = this.select(f);
    for (const r of this.stmt(sql).iterate(params) as IterableIterator<EventRow>) yield fromRow(r);
  }

  /** The cursor of the newest stored row (0 when empty). */
  async maxRowid(): Promise<number> {
    return (this.stmt('SELECT MAX(rowid) AS m FROM switch_events').get() as { m: number | null }).m ?? 0;
  }

  async count(): Promise<number> {
    return (this.stmt('SELECT COUNT(*) AS n FROM switch_events').get() as { n: number }).n;
  }

  /** A vehicle's latest switch (by seq: its clock may have stepped back). */
  async last(vehicle: string): Promise<StoredEvent | null> {
    const r = this.stmt('SELECT * FROM switch_events WHERE vehicle = ? ORDER BY seq DESC, at DESC LIMIT 1').get(vehicle) as EventRow | undefined;
    return r ? fromRow(r) : null;
  }

  /** Retention: deletes events HQ received before `beforeMs` (HQ's clock, whatever the vehicle's said), `chunk` rows per
   *  transaction; returns how many. */
  async prune(beforeMs: number, chunk = 10_000): Promise<number> {
    const del = this.stmt('DELETE FROM switch_events WHERE rowid IN (SELECT rowid FROM switch_events WHERE received_at < ? ORDER BY received_at LIMIT ?)');
    let total = 0;
    for (;;) {
      const n = del.run(Math.floor(beforeMs), chunk).changes;
      total += n;
      if (n < chunk) return total;
    }
  }
}

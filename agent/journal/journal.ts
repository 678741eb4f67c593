// The agent's durable switch journal: every switch is appended here (fsync'd) before it is logged or shipped; HQ's
// acknowledgements mark events shipped. Nothing leaves it unshipped: not an agent crash, not hours without HQ.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { realClock, type Clock } from '../../shared/clock.js';
import { parseWire, type WireIssue } from '../../shared/wire/common.js';
import { switchEventSchema, type SwitchEvent, type SwitchEventInput } from '../../shared/wire/switch-event.js';

/** An event as the agent produces it: everything but seq, which the journal assigns. */
export type NewSwitchEvent = Omit<SwitchEventInput, 'seq'>;

export interface Appended {
  event: SwitchEvent;
  /** Set when the event does not follow the wire schema: it is kept (never lost) but not shipped. */
  invalid?: WireIssue;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS journal (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  id         TEXT NOT NULL UNIQUE,
  body       TEXT NOT NULL,
  shipped_at INTEGER,
  rejected   TEXT
);
CREATE INDEX IF NOT EXISTS journal_unshipped ON journal(seq) WHERE shipped_at IS NULL AND rejected IS NULL;
`;

export function journalPath(stateDir: string): string {
  return join(stateDir, 'journal.sqlite');
}

interface Row {
  seq: number;
  body: string;
  shipped_at: number | null;
  rejected: string | null;
}

/**
 * seq is SQLite's AUTOINCREMENT key: strictly increasing for this vehicle, never reused, even after shipped events
 * are pruned or the agent restarts. The journal is only ever used by one agent process.
 */
export class Journal {
  private readonly db: Database.Database;
  private readonly stmts: {
    byId: Database.Statement;
    insert: Database.Statement;
    unshipped: Database.Statement;
    ship: Database.Statement;
    reject: Database.Statement;
    backlog: Database.Statement;
  };

  private constructor(
    path: string,
    private readonly clock: Pick<Clock, 'wallNow'>,
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // Every commit is on disk before append() returns: a switch journaled is a switch that survives a power cut.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.stmts = {
      byId: this.db.prepare('SELECT seq, body, shipped_at, rejected FROM journal WHERE id = ?'),
      insert: this.db.prepare('INSERT INTO journal (id, body, rejected) VALUES (?, ?, ?)'),
      unshipped: this.db.prepare('SELECT seq, body, shipped_at, rejected FROM journal WHERE shipped_at IS NULL AND rejected IS NULL ORDER BY seq LIMIT ?'),
      ship: this.db.prepare('UPDATE journal SET shipped_at = ? WHERE id = ? AND shipped_at IS NULL'),
      reject: this.db.prepare('UPDATE journal SET rejected = ? WHERE id = ? AND shipped_at IS NULL'),
      backlog: this.db.prepare('SELECT COUNT(*) AS n FROM journal WHERE shipped_at IS NULL AND rejected IS NULL'),
    };
  }

  /** Opens (creating) the journal at `path` (':memory:' for tests); `clock` stamps when HQ acknowledged. */
  static open(path: string, clock: Pick<Clock, 'wallNow'> = realClock): Journal {
    return new Journal(path, clock);
  }

  private static toEvent(r: Row): SwitchEvent {
    return { ...(JSON.parse(r.body) as Omit<SwitchEvent, 'seq'>), seq: r.seq } as SwitchEvent;
  }

  /**
   * Appends one switch and returns it with its seq, once it is on disk. Appending an id again returns the stored
   * event (no second row). An event the wire schema refuses is still kept, marked rejected, and never shipped.
   */
  append(e: NewSwitchEvent): Appended {
    const tx = this.db.transaction((): Appended => {
      const have = this.stmts.byId.get(e.id) as Row | undefined;
      if (have) return { event: Journal.toEvent(have) };
      // Validate as HQ will (seq stands in as 1): what HQ would refuse is kept aside, not retried forever.
      const p = parseWire(switchEventSchema, { ...e, seq: 1 });
      const body = p.ok ? (({ seq: _s, ...rest }) => rest)(p.value) : e;
      const invalid = p.ok ? undefined : { field: p.field, message: p.message };
      const info = this.stmts.insert.run(e.id, JSON.stringify(body), invalid ? `invalid: ${invalid.field}: ${invalid.message}` : null);
      const event = { ...(body as Omit<SwitchEvent, 'seq'>), seq: Number(info.lastInsertRowid) } as SwitchEvent;
      return invalid ? { event, invalid } : { event };
    });
    return tx.immediate();
  }

  /** The oldest events not yet acknowledged by HQ (and not rejected), in seq order. */
  unshipped(limit = 500): SwitchEvent[] {
    return (this.stmts.unshipped.all(limit) as Row[]).map(Journal.toEvent);
  }

  /** HQ stored these: never ship them again. Unknown ids are ignored. Returns how many were newly marked. */
  markShipped(ids: readonly string[], at: number = this.clock.wallNow()): number {
    const tx = this.db.transaction(() => ids.reduce((n, id) => n + this.stmts.ship.run(at, id).changes, 0));
    return tx();
  }

  /** HQ refuses this event as it is (a 400 naming it): kept, with why, but no longer shipped. */
  markRejected(id: string, why: string): void {
    this.stmts.reject.run(why, id);
  }

  /** Events waiting for HQ. */
  backlog(): number {
    return (this.stmts.backlog.get() as { n: number }).n;
  }

  /** Events kept aside (invalid, or refused by HQ), with why. */
  rejected(): Array<{ event: SwitchEvent; why: string }> {
    const rows = this.db.prepare('SELECT seq, body, shipped_at, rejected FROM journal WHERE rejected IS NOT NULL ORDER BY seq').all() as Row[];
    return rows.map((r) => ({ event: Journal.toEvent(r), why: r.rejected! }));
  }

  /** Everything journaled, in seq order. */
  all(): Array<SwitchEvent & { shipped: boolean }> {
    const rows = this.db.prepare('SELECT seq, body, shipped_at, rejected FROM journal ORDER BY seq').all() as Row[];
    return rows.map((r) => ({ ...Journal.toEvent(r), shipped: r.shipped_at !== null }));
  }

  /** Forgets events HQ acknowledged before `beforeMs` (unshipped ones are never pruned). */
  prune(beforeMs: number): number {
    return this.db.prepare('DELETE FROM journal WHERE shipped_at IS NOT NULL AND shipped_at < ?').run(beforeMs).changes;
  }

  close(): void {
    this.db.close();
  }
}

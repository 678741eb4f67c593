// The agent's durable switch journal: every switch is appended here (fsync'd) before it is logged or shipped; HQ's
// acknowledgements mark events shipped. Nothing leaves it unshipped: not an agent crash, not hours without HQ.
// A switch is journaled twice: its intent (with its why) before the steering, its completion once confirmed; an intent
// a killed process left open is completed or abandoned by the next one (agent/adopt/intents.plan.ts), never shipped open.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { writeFileAtomic } from '../../shared/atomic-file.js';
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

/**
 * phase: `intent` (journaled before the steering, not shipped), `done` (the switch happened: shipped), `abandoned` (an
 * intent whose steering never took effect: kept, with why in `note`, never shipped).
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS journal (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  id         TEXT NOT NULL UNIQUE,
  body       TEXT NOT NULL,
  shipped_at INTEGER,
  rejected   TEXT,
  phase      TEXT NOT NULL DEFAULT 'done',
  note       TEXT
);
`;
const INDEX = `
DROP INDEX IF EXISTS journal_unshipped;
CREATE INDEX IF NOT EXISTS journal_to_ship ON journal(seq) WHERE shipped_at IS NULL AND rejected IS NULL AND phase = 'done';
`;
const SHIPPABLE = "shipped_at IS NULL AND rejected IS NULL AND phase = 'done'";

/** A journal file SQLite cannot read (garbage, truncated, not a database): set aside by Journal.open. */
export interface SetAside {
  path: string;
  movedTo: string;
  why: string;
}

export function journalPath(stateDir: string): string {
  return join(stateDir, 'journal.sqlite');
}

/** How many seqs a reservation covers: the floor file is written once per this many switches. */
export const SEQ_BLOCK = 1000;

/**
 * seq survives the journal: `<journal>.seq` holds the highest seq that may have been handed out (reserved a block
 * ahead, written atomically before a seq past it is used). A journal set aside as unreadable (or lost) starts again
 * above it, so HQ, which orders a vehicle's log by seq, still finds the new switches after the old ones. A floor file
 * that cannot be read counts as none (the journal alone then decides, as before it existed).
 */
export function readSeqFloor(path: string): number {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as { version?: unknown; reserved?: unknown };
    return v.version === 1 && Number.isSafeInteger(v.reserved) && (v.reserved as number) > 0 ? (v.reserved as number) : 0;
  } catch {
    return 0;
  }
}

interface Row {
  seq: number;
  body: string;
  shipped_at: number | null;
  rejected: string | null;
  phase?: string;
}

const COLS = 'seq, body, shipped_at, rejected, phase';

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
    complete: Database.Statement;
    intents: Database.Statement;
    abandon: Database.Statement;
  };

  /** The floor file (null in memory) and what it says: seqs up to `reserved` may have been handed out. */
  private readonly seqFile: string | null;
  private reserved: number;

  private constructor(
    path: string,
    private readonly clock: Pick<Clock, 'wallNow'>,
  ) {
    this.seqFile = path === ':memory:' ? null : `${path}.seq`;
    this.reserved = this.seqFile ? readSeqFloor(this.seqFile) : 0;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.db = new Database(path);
    try {
      this.db.pragma('journal_mode = WAL');
      // Every commit is on disk before append() returns: a switch journaled is a switch that survives a power cut.
      this.db.pragma('synchronous = FULL');
      this.db.pragma('busy_timeout = 5000');
      // A file SQLite cannot read fails here (SQLITE_NOTADB, SQLITE_CORRUPT), not at the first switch.
      const check = this.db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new Error(`quick_check: ${String(check)}`);
      this.db.exec(SCHEMA);
      // Journals written before intents (2026-12) lack the phase and note columns: every row in them is a done switch.
      const cols = new Set((this.db.pragma('table_info(journal)') as Array<{ name: string }>).map((c) => c.name));
      if (!cols.has('phase')) this.db.exec("ALTER TABLE journal ADD COLUMN phase TEXT NOT NULL DEFAULT 'done'");
      if (!cols.has('note')) this.db.exec('ALTER TABLE journal ADD COLUMN note TEXT');
      this.db.exec(INDEX);
      // Behind the floor (a fresh journal after one was set aside or lost): go on above everything handed out.
      const last = this.lastSeq();
      if (last < this.reserved - SEQ_BLOCK || (last === 0 && this.reserved > 0)) {
        this.db.prepare("DELETE FROM sqlite_sequence WHERE name = 'journal'").run();
        this.db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('journal', ?)").run(this.reserved);
      }
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.stmts = {
      byId: this.db.prepare(`SELECT ${COLS} FROM journal WHERE id = ?`),
      insert: this.db.prepare('INSERT INTO journal (id, body, rejected, phase) VALUES (?, ?, ?, ?)'),
      unshipped: this.db.prepare(`SELECT ${COLS} FROM journal WHERE ${SHIPPABLE} ORDER BY seq LIMIT ?`),
      ship: this.db.prepare('UPDATE journal SET shipped_at = ? WHERE id = ? AND shipped_at IS NULL'),
      reject: this.db.prepare('UPDATE journal SET rejected = ? WHERE id = ? AND shipped_at IS NULL'),
      backlog: this.db.prepare(`SELECT COUNT(*) AS n FROM journal WHERE ${SHIPPABLE}`),
      complete: this.db.prepare("UPDATE journal SET body = ?, rejected = ?, phase = 'done' WHERE id = ? AND phase = 'intent'"),
      intents: this.db.prepare(`SELECT ${COLS} FROM journal WHERE phase = 'intent' ORDER BY seq`),
      abandon: this.db.prepare("UPDATE journal SET phase = 'abandoned', note = ? WHERE id = ? AND phase = 'intent'"),
    };
  }

  /**
   * Opens (creating) the journal at `path` (':memory:' for tests); `clock` stamps when HQ acknowledged. A file SQLite
   * cannot read (garbage bytes, a truncated file) is renamed `<path>.corrupt-<time>` (with its -wal and -shm), never
   * deleted, and a fresh journal is opened in its place; `onSetAside` is told, to warn with the file named.
   */
  static open(path: string, clock: Pick<Clock, 'wallNow'> = realClock, onSetAside?: (s: SetAside) => void): Journal {
    try {
      return new Journal(path, clock);
    } catch (err) {
      if (path === ':memory:' || !isUnreadable(err)) throw err;
      const movedTo = `${path}.corrupt-${new Date(clock.wallNow()).toISOString().replace(/[:.]/g, '-')}`;
      renameSync(path, movedTo);
      for (const side of ['-wal', '-shm']) if (existsSync(path + side)) renameSync(path + side, movedTo + side);
      onSetAside?.({ path, movedTo, why: err instanceof Error ? err.message : String(err) });
      return new Journal(path, clock);
    }
  }

  /** The highest seq this journal has handed out (0: none). */
  private lastSeq(): number {
    const r = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'journal'").get() as { seq: number } | undefined;
    return r?.seq ?? 0;
  }

  /** Before seq `next` is handed out: the floor file covers it (a block ahead), on disk first. */
  private reserve(next: number): void {
    if (this.seqFile === null || next <= this.reserved) return;
    const reserved = next + SEQ_BLOCK - 1;
    writeFileAtomic(this.seqFile, `${JSON.stringify({ version: 1, reserved })}\n`);
    this.reserved = reserved;
  }

  private static toEvent(r: Row): SwitchEvent {
    return { ...(JSON.parse(r.body) as Omit<SwitchEvent, 'seq'>), seq: r.seq } as SwitchEvent;
  }

  /**
   * Appends one switch and returns it with its seq, once it is on disk. Appending an id again returns the stored
   * event (no second row). An event the wire schema refuses is still kept, marked rejected, and never shipped.
   */
  append(e: NewSwitchEvent): Appended {
    return this.write(e, 'done');
  }

  /**
   * Journals a switch about to be steered (its why as decided), on disk when this returns; not shipped until
   * append() completes it (same id) or the next process does (complete()). An id already journaled is left as it is.
   */
  intend(e: NewSwitchEvent): Appended {
    return this.write(e, 'intent');
  }

  private write(e: NewSwitchEvent, phase: 'intent' | 'done'): Appended {
    const tx = this.db.transaction((): Appended => {
      const have = this.stmts.byId.get(e.id) as Row | undefined;
      if (have && !(phase === 'done' && have.phase === 'intent')) return { event: Journal.toEvent(have) };
      // Validate as HQ will (seq stands in as 1): what HQ would refuse is kept aside, not retried forever.
      const p = parseWire(switchEventSchema, { ...e, seq: 1 });
      const body = p.ok ? (({ seq: _s, ...rest }) => rest)(p.value) : e;
      const invalid = p.ok ? undefined : { field: p.field, message: p.message };
      const rejected = invalid ? `invalid: ${invalid.field}: ${invalid.message}` : null;
      let seq: number;
      if (have) {
        // The intent's completion: the same row (and seq), now with what the confirmation measured.
        this.stmts.complete.run(JSON.stringify(body), rejected, e.id);
        seq = have.seq;
      } else {
        this.reserve(this.lastSeq() + 1);
        seq = Number(this.stmts.insert.run(e.id, JSON.stringify(body), rejected, phase).lastInsertRowid);
      }
      const event = { ...(body as Omit<SwitchEvent, 'seq'>), seq } as SwitchEvent;
      return invalid ? { event, invalid } : { event };
    });
    return tx.immediate();
  }

  /** Intents not completed nor abandoned (a process killed between steering and confirming), oldest first. */
  intents(): SwitchEvent[] {
    return (this.stmts.intents.all() as Row[]).map(Journal.toEvent);
  }

  /** An open intent, completed as journaled (its why as decided): shipped from now on. False when it was not open. */
  complete(id: string): boolean {
    const have = this.stmts.byId.get(id) as Row | undefined;
    if (have?.phase !== 'intent') return false;
    return this.stmts.complete.run(have.body, have.rejected, id).changes === 1;
  }

  /** An open intent whose steering never took effect: kept with why, never shipped. False when it was not open. */
  abandon(id: string, why: string): boolean {
    return this.stmts.abandon.run(why, id).changes === 1;
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
    const rows = this.db.prepare(`SELECT ${COLS} FROM journal WHERE rejected IS NOT NULL ORDER BY seq`).all() as Row[];
    return rows.map((r) => ({ event: Journal.toEvent(r), why: r.rejected! }));
  }

  /** Everything journaled, in seq order, with its phase (intent, done, abandoned). */
  all(): Array<SwitchEvent & { shipped: boolean; phase: string }> {
    const rows = this.db.prepare(`SELECT ${COLS} FROM journal ORDER BY seq`).all() as Row[];
    return rows.map((r) => ({ ...Journal.toEvent(r), shipped: r.shipped_at !== null, phase: r.phase ?? 'done' }));
  }

  /** Forgets events HQ acknowledged before `beforeMs` (unshipped ones are never pruned). */
  prune(beforeMs: number): number {
    return this.db.prepare('DELETE FROM journal WHERE shipped_at IS NOT NULL AND shipped_at < ?').run(beforeMs).changes;
  }

  close(): void {
    this.db.close();
  }
}

/** SQLite's own word that the file is not a database it can read (not a permission or a full disk: those stay errors). */
function isUnreadable(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT') || /^quick_check: /.test(err instanceof Error ? err.message : '');
}

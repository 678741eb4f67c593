// Opening the switch log database (switchlog.sqlite): WAL, migrated forward with its own schema_version table.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EVENTS_MIGRATIONS } from './schema.js';

export type EventsDb = Database.Database;

export function eventsPath(stateDir: string): string {
  return join(stateDir, 'switchlog.sqlite');
}

export interface OpenEventsOptions {
  /**
   * FULL (default): a batch is on disk before HQ acknowledges it, so an acknowledged event survives a power cut
   * at HQ (the agent forgets it once acknowledged). NORMAL survives a crash of the process only.
   */
  synchronous?: 'FULL' | 'NORMAL' | 'OFF';
  /** Open only if the file exists (the CLI reading the log): null otherwise. */
  mustExist?: boolean;
}

/** Runs each step not yet applied, in order, each in its own transaction (never edit a released step: append one). */
export function migrateSteps(db: Database.Database, steps: ReadonlyArray<{ version: number; sql: string }>, what: string): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const current = () => (db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null }).v ?? 0;
  const latest = steps[steps.length - 1]!.version;
  const now = current();
  if (now > latest) throw new Error(`${what} schema version ${now} is newer than this roamlink understands (${latest})`);
  const step = db.transaction((m: { version: number; sql: string }) => {
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)').run(m.version, new Date().toISOString());
  });
  for (const m of steps) if (m.version > now) step.immediate(m);
  return current();
}

export function migrateEvents(db: EventsDb): number {
  return migrateSteps(db, EVENTS_MIGRATIONS, 'switch log');
}

/** Opens (creating when absent, directory mode 0700) and migrates the switch log; ':memory:' for tests. */
export function openEventsDb(path: string, opts: OpenEventsOptions & { mustExist: true }): EventsDb | null;
export function openEventsDb(path: string, opts?: OpenEventsOptions): EventsDb;
export function openEventsDb(path: string, opts: OpenEventsOptions = {}): EventsDb | null {
  if (path !== ':memory:') {
    if (opts.mustExist && !existsSync(path)) return null;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  }
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536'); // 64 MiB: the id and (vehicle, at) indexes stay hot
  migrateEvents(db);
  return db;
}

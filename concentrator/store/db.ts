// The concentrator's SQLite database: opened in WAL mode, migrated forward one numbered step at a time.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { VEHICLES_V1 } from './vehicles/schema.js';
import { FLEET_STATE_TABLE } from './fleet/service.js';
import { ENROLLMENT_TABLES } from './enrollments/schema.js';
import { OPERATORS_TABLE } from './operators/service.js';
import { HQ_KEY_TABLE } from './identity/service.js';
import { createTableSql, createTablesSql } from './table.js';

export type Db = Database.Database;

/** Each step's SQL runs once, in order, inside a transaction; never edit a released step, append a new one. */
export const MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  { version: 1, sql: VEHICLES_V1 },
  { version: 2, sql: createTableSql(FLEET_STATE_TABLE, 'sqlite') },
  { version: 3, sql: createTablesSql(ENROLLMENT_TABLES, 'sqlite') },
  { version: 4, sql: createTableSql(OPERATORS_TABLE, 'sqlite') },
  { version: 5, sql: createTableSql(HQ_KEY_TABLE, 'sqlite') },
];

export function schemaVersion(db: Db): number {
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null };
  return row.v ?? 0;
}

export function migrate(db: Db): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const step = db.transaction((m: { version: number; sql: string }) => {
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)').run(m.version, new Date().toISOString());
  });
  const current = schemaVersion(db);
  const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
  if (current > latest) throw new Error(`registry schema version ${current} is newer than this roamlink understands (${latest})`);
  for (const m of MIGRATIONS) if (m.version > current) step.immediate(m);
  return schemaVersion(db);
}

/** Opens (creating when absent, directory mode 0700) and migrates the registry; ':memory:' for tests. */
export function openDb(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

// Opening the drives database (drives.sqlite): WAL, synchronous FULL (a piece is on disk before HQ acknowledges it),
// migrated forward with its own schema_version table.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { migrateSteps } from '../events/db.js';
import { DRIVES_MIGRATIONS } from './schema.js';

export type DrivesDb = Database.Database;

export function drivesPath(stateDir: string): string {
  return join(stateDir, 'drives.sqlite');
}

/** Opens (creating when absent, unless mustExist: then null) and migrates; ':memory:' for tests. */
export function openDrivesDb(path: string, opts: { mustExist?: boolean } = {}): DrivesDb | null {
  if (path !== ':memory:') {
    if (opts.mustExist && !existsSync(path)) return null;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  }
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrateSteps(db, DRIVES_MIGRATIONS, 'drives');
  return db;
}

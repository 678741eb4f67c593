// Opening the sites database (sites.sqlite): WAL, migrated forward with its own schema_version table.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { migrateSteps } from '../events/db.js';
import { SITES_MIGRATIONS } from './schema.js';

export type SitesDb = Database.Database;

export function sitesPath(stateDir: string): string {
  return join(stateDir, 'sites.sqlite');
}

/** Opens (creating when absent) and migrates; ':memory:' for tests. */
export function openSitesDb(path: string): SitesDb {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  migrateSteps(db, SITES_MIGRATIONS, 'sites');
  return db;
}

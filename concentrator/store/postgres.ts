// HQ's store in PostgreSQL (config `database: postgres://…`): every table in one database, migrated forward one
// numbered step at a time under an advisory lock (two concentrators starting at once migrate once).
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { redactSecret, redactUrl, type StoreDb } from './sql.js';
import { createTableSql, createTablesSql } from './table.js';
import { VEHICLES_TABLE } from './vehicles/schema.js';
import { SWITCH_EVENTS_TABLE } from './events/schema.js';
import { SITE_TABLES } from './sites/schema.js';
import { DRIVE_TABLES } from './drives/schema.js';
import { FLEET_STATE_TABLE } from './fleet/service.js';
import { ENROLLMENT_TABLES } from './enrollments/schema.js';
import { OPERATORS_TABLE } from './operators/service.js';
import { HQ_KEY_TABLE } from './identity/service.js';
import { REGISTRY_CHANNEL } from './vehicles/watch.postgres.js';

/** BIGINT (int8) as a JS number: ids, counts and ms since the epoch stay far below 2^53. */
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export interface PostgresOptions {
  /** Connections in the pool (default 10). */
  max?: number;
  /** Connections in a second pool for lookups (StoreDb.lookup; default 0: none). */
  lookupMax?: number;
  /** Give up connecting after this long (default 5 s): an unreachable server is an error, never a hang. */
  connectTimeoutMs?: number;
  /** A query running longer is cancelled by the server (default 30 s). */
  statementTimeoutMs?: number;
  /** Told of a pooled connection that broke while idle (the server restarted): the pool makes a new one when asked. */
  onIdleError?: (err: Error) => void;
}

/** A pool on `url` behind Kysely (nothing connects until the first query). */
export function postgresStore(url: string, o: PostgresOptions = {}): StoreDb & { pool: pg.Pool } {
  const makePool = (max: number) => {
    const pool = new pg.Pool({
      connectionString: url,
      max,
      connectionTimeoutMillis: o.connectTimeoutMs ?? 5000,
      statement_timeout: o.statementTimeoutMs ?? 30_000,
      idleTimeoutMillis: 30_000,
      types,
    });
    // Without a listener an idle client's error (the server went away) would crash the process.
    pool.on('error', (err) => o.onIdleError?.(err));
    // Nor must a checked-out client's (the server went away mid-query): the query rejects (503 to the agents), and the
    // pool drops the broken client when it comes back, so the next query connects anew.
    pool.on('connect', (client) => client.on('error', (err) => o.onIdleError?.(err)));
    return pool;
  };
  const pool = makePool(o.max ?? 10);
  const db = new Kysely({ dialect: new PostgresDialect({ pool }) });
  const lookup = o.lookupMax ? new Kysely({ dialect: new PostgresDialect({ pool: makePool(o.lookupMax) }) }) : undefined;
  return {
    db,
    pool,
    dialect: 'postgres',
    ...(lookup ? { lookup } : {}),
    close: async () => {
      await lookup?.destroy();
      await db.destroy(); // ends the pool
    },
  };
}


/**
 * The same tables as the SQLite files (registry, switch log, sites, drives) in their latest form, written from the one
 * description of each (store/table.ts) that SQLite's steps are written from too; never change a released step,
 * append one. `switch_events.log_id` is the follow cursor: a sequence, never reused.
 */
export const POSTGRES_MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  { version: 1, sql: createTablesSql([VEHICLES_TABLE, SWITCH_EVENTS_TABLE, ...SITE_TABLES, ...DRIVE_TABLES], 'postgres') },
  { version: 2, sql: createTableSql(FLEET_STATE_TABLE, 'postgres') },
  { version: 3, sql: createTablesSql(ENROLLMENT_TABLES, 'postgres') },
  { version: 4, sql: createTableSql(OPERATORS_TABLE, 'postgres') },
  // Every commit that changes the registry notifies the channel the concentrators' caller caches listen on
  // (vehicles/watch.postgres.ts), whoever changed it: this HQ, the other one, the CLI, psql, a restore.
  {
    version: 5,
    sql: `
CREATE FUNCTION roamlink_registry_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('${REGISTRY_CHANNEL}', '');
  RETURN NULL;
END $$;
CREATE TRIGGER vehicles_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON vehicles
  FOR EACH STATEMENT EXECUTE FUNCTION roamlink_registry_changed();
`,
  },
  { version: 6, sql: createTableSql(HQ_KEY_TABLE, 'postgres') },
];

/** Any number that says "roamlink's migrations" to pg_advisory_xact_lock. */
const MIGRATION_LOCK = 0x726c6d67; // 'rlmg'

/** Runs the steps not applied yet, each in its own transaction, under the advisory lock; returns the version. */
export async function migratePostgres(store: StoreDb): Promise<number> {
  const { db } = store;
  await db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`.execute(trx);
    await sql`CREATE TABLE IF NOT EXISTS roamlink_schema (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`.execute(trx);
  });
  const latest = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]!.version;
  const current = async (q: typeof db) => (await sql<{ v: number | null }>`SELECT MAX(version) AS v FROM roamlink_schema`.execute(q)).rows[0]!.v ?? 0;
  for (const m of POSTGRES_MIGRATIONS) {
    await db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`.execute(trx);
      const now = await current(trx);
      if (now > latest) throw new Error(`the database's roamlink schema version ${now} is newer than this roamlink understands (${latest})`);
      if (m.version <= now) return;
      await sql.raw(m.sql).execute(trx);
      await sql`INSERT INTO roamlink_schema (version, applied_at) VALUES (${m.version}, ${new Date().toISOString()})`.execute(trx);
    });
  }
  return current(db);
}

/** Why a database at start is not usable, with the URL's password never in it. */
export class DatabaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseError';
  }
}

/**
 * Connects (bounded by connectTimeoutMs: an unreachable server is an error, not a hang) and migrates; throws a
 * DatabaseError naming the database (password redacted) and what is wrong.
 */
export async function openPostgres(url: string, o: PostgresOptions = {}): Promise<StoreDb> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DatabaseError(`database: not a URL (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE)`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new DatabaseError(`database: ${redactUrl(url)} is not a postgres:// URL`);
  const store = postgresStore(url, o);
  try {
    await sql`SELECT 1`.execute(store.db);
    await migratePostgres(store);
    return store;
  } catch (err) {
    await store.close().catch(() => {});
    throw new DatabaseError(`database ${redactUrl(url)}: ${redactSecret((err as Error).message || String(err), url)}`);
  }
}

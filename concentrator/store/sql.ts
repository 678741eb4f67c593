// The stores' one query path: Kysely over better-sqlite3 (the embedded default) or node-postgres (a `database` URL), so
// each repository's SQL is written once; what differs between the two (schema DDL, locks) asks `dialect`. The
// PostgreSQL side (and the pg module) is in postgres.ts, loaded only when a `database` is configured.
import type Database from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteAdapter, SqliteDialect, SqliteIntrospector, SqliteQueryCompiler, type DatabaseConnection, type Dialect, type Driver } from 'kysely';

export type DialectName = 'sqlite' | 'postgres';

/** One database as the repositories see it: queries through `db`; `dialect` for the few places the SQL differs. */
export interface StoreDb {
  // Rows are typed where they are read (sql<Row>`...`): the tables are declared in SQL, not twice in TypeScript.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly db: Kysely<any>;
  readonly dialect: DialectName;
  /** PostgreSQL: a small pool of its own for the agents' API's per-request lookups (the caller's vehicle), so they
   *  never queue for a connection behind the switch log's commits; absent: `db`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly lookup?: Kysely<any>;
  close(): Promise<void>;
}

/**
 * SQLite's `begin` is deferred: a transaction that reads before it writes can fail with SQLITE_BUSY when another
 * process (the CLI beside the daemon) wrote meanwhile, and busy_timeout does not help it. `begin immediate` takes the
 * write lock first and waits for it (busy_timeout), as better-sqlite3's `transaction().immediate()` did.
 */
function immediateDriver(database: Database.Database): Driver {
  const inner = new SqliteDialect({ database }).createDriver();
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'beginTransaction') return (conn: DatabaseConnection) => conn.executeQuery(CompiledQuery.raw('begin immediate'));
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

class SqliteImmediateDialect implements Dialect {
  constructor(private readonly database: Database.Database) {}
  createDriver(): Driver {
    return immediateDriver(this.database);
  }
  createQueryCompiler() {
    return new SqliteQueryCompiler();
  }
  createAdapter() {
    return new SqliteAdapter();
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  createIntrospector(db: Kysely<any>) {
    return new SqliteIntrospector(db);
  }
}

/** Prepared statements kept per database: Kysely's SQLite driver prepares every query anew (SQLite parses and plans
 *  it again), which was 7 % of HQ's main thread at 5,000 events/s in bench/hq (identify's SELECT on each request, the
 *  ingest's INSERTs). At most this many, the least recently used dropped. */
const STATEMENT_CACHE = 256;

/** `database` with prepare() answered from a cache by SQL text (better-sqlite3 statements are reusable; Kysely runs
 *  one query at a time on its single connection, so a cached statement is never busy when handed out again). */
export function cachingPrepare(database: Database.Database, max = STATEMENT_CACHE): Database.Database {
  const cache = new Map<string, Database.Statement>();
  const prepare = (source: string) => {
    let st = cache.get(source);
    if (st) {
      cache.delete(source); // to the back: most recently used
    } else {
      st = database.prepare(source);
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
    }
    cache.set(source, st);
    return st;
  };
  return new Proxy(database, {
    get(target, prop) {
      if (prop === 'prepare') return prepare;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** An open better-sqlite3 database (opened and migrated by its own open*Db) behind Kysely; close() closes it. */
export function sqliteStore(database: Database.Database): StoreDb {
  const db = new Kysely({ dialect: new SqliteImmediateDialect(cachingPrepare(database)) });
  return {
    db,
    dialect: 'sqlite',
    close: async () => {
      await db.destroy(); // closes the better-sqlite3 handle
    },
  };
}

/** `url` with its password replaced by `***`: the only form of it a log line or an error may carry. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of ['password', 'sslpassword']) if (u.searchParams.has(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

/** `text` with every occurrence of the URL's password replaced (a driver's message may quote its connection string). */
export function redactSecret(text: string, url: string | undefined): string {
  if (!url) return text;
  let pw = '';
  try {
    pw = decodeURIComponent(new URL(url).password);
  } catch {
    /* not a URL: nothing to take out but the URL itself */
  }
  let out = text.split(url).join(redactUrl(url));
  if (pw) out = out.split(pw).join('***');
  return out;
}

/**
 * Whether `err` says the database cannot be reached or has gone away (not that a query was wrong): the agents' API
 * answers 503 then, and the agents keep their events in their journals until it is back.
 */
export function isStoreUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e || typeof e !== 'object') return false;
  const code = e.code ?? '';
  // Connection-level errors from node (ECONNREFUSED, ...) and PostgreSQL's classes 08 (connection), 57P (shutdown), 53 (resources).
  if (/^E(CONNREFUSED|CONNRESET|PIPE|NOTFOUND|HOSTUNREACH|NETUNREACH|TIMEDOUT|AI_AGAIN)$/.test(code)) return true;
  // A server on a unix socket that stopped: its socket file is gone (the writer thread passes the code and message on).
  if (code === 'ENOENT' && /\bconnect ENOENT\b/.test(e.message ?? '')) return true;
  if (/^(08...|57P0[1-3]|53...)$/.test(code)) return true;
  // SQLite: the file is locked past busy_timeout, or the disk is full or failing.
  if (/^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN)/.test(code)) return true;
  const m = e.message ?? '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection.*(closed|ended)|Cannot use a pool after calling end/i.test(m);
}

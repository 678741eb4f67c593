// `roamlink hq backup FILE` / `restore FILE`: every table of HQ's store as gzip'd JSON lines, read in one snapshot per
// database while the daemon runs (SQLite: a read transaction per file, WAL lets the daemon write on; PostgreSQL: one
// REPEATABLE READ transaction for all), and written back into an empty store of either kind (SQLite <-> PostgreSQL).
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { sql, type Kysely } from 'kysely';
import { InputError } from '../../shared/errors.js';
import type { StoreDb } from './sql.js';

/** Which database holds which table: one PostgreSQL for all, or SQLite's file per store. */
export type StoreParts = Record<'registry' | 'events' | 'sites' | 'drives', StoreDb>;

/** Every table, its part, and the key it is read in order of (keyset pages: a 10 M-row log streams in bounded memory). */
export const TABLES: ReadonlyArray<{ name: string; part: keyof StoreParts; key: string[]; serial?: string }> = [
  { name: 'vehicles', part: 'registry', key: ['id'], serial: 'id' },
  { name: 'fleet_state', part: 'registry', key: ['vehicle'] },
  { name: 'enrollment_codes', part: 'registry', key: ['code_hash'] },
  { name: 'vehicle_audit', part: 'registry', key: ['id'], serial: 'id' },
  { name: 'operators', part: 'registry', key: ['name'] },
  { name: 'hq_key', part: 'registry', key: ['id'] },
  { name: 'sites', part: 'sites', key: ['name'] },
  { name: 'site_audit', part: 'sites', key: ['id'], serial: 'id' },
  { name: 'switch_events', part: 'events', key: ['log_id'], serial: 'log_id' },
  { name: 'drive_segments', part: 'drives', key: ['vehicle', 'segment'] },
  { name: 'drive_pieces', part: 'drives', key: ['vehicle', 'segment', '"offset"'] },
  { name: 'drive_sites', part: 'drives', key: ['vehicle', 'segment', 'site'] },
];

export const BACKUP_FORMAT = 'roamlink-hq-backup';
const PAGE = 5000;

type Row = Record<string, unknown>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Q = Kysely<any>;

/** Bytes as {"$b": base64}: JSON has no binary, and a UUID or a brotli piece must come back byte for byte. */
const encode = (r: Row): Row => {
  const o: Row = {};
  for (const [k, v] of Object.entries(r)) o[k] = Buffer.isBuffer(v) || v instanceof Uint8Array ? { $b: Buffer.from(v).toString('base64') } : v;
  return o;
};
const decode = (r: Row): Row => {
  const o: Row = {};
  for (const [k, v] of Object.entries(r)) o[k] = v && typeof v === 'object' && '$b' in (v as Row) ? Buffer.from((v as { $b: string }).$b, 'base64') : v;
  return o;
};
const bare = (col: string) => col.replace(/"/g, '');

/** One snapshot of a database for the duration of `fn` (read-only; the daemon keeps writing meanwhile). */
async function snapshot<T>(s: StoreDb, fn: (q: Q) => Promise<T>): Promise<T> {
  return s.db.connection().execute(async (conn) => {
    // SQLite: a deferred BEGIN is a read transaction; its first read fixes what it sees (WAL), and takes no write lock.
    await sql.raw(s.dialect === 'postgres' ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN').execute(conn);
    try {
      return await fn(conn);
    } finally {
      await sql.raw('COMMIT').execute(conn);
    }
  });
}

async function* tableRows(q: Q, t: (typeof TABLES)[number]): AsyncGenerator<Row> {
  let last: Row | null = null;
  const cols = sql.raw(t.key.join(', '));
  for (;;) {
    const after = last ? sql` WHERE (${cols}) > (${sql.join(t.key.map((k) => last![bare(k)]))})` : sql``;
    const rows: Row[] = (await sql<Row>`SELECT * FROM ${sql.raw(t.name)}${after} ORDER BY ${cols} LIMIT ${PAGE}`.execute(q)).rows;
    for (const r of rows) yield r;
    if (rows.length < PAGE) return;
    last = rows[rows.length - 1]!;
  }
}

export interface BackupResult {
  file: string;
  rows: Record<string, number>;
}

/**
 * Writes every table to `file` (gzip'd JSON lines: a header, then {"t": table, "r": row} per row), through a temporary
 * file renamed at the end: an interrupted backup never leaves a truncated FILE.
 */
export async function backup(parts: StoreParts, kind: string, file: string, now = () => new Date()): Promise<BackupResult> {
  const counts: Record<string, number> = {};
  const tmp = `${file}.${process.pid}.tmp`;
  const gz = createGzip();
  const written = pipeline(gz, createWriteStream(tmp, { mode: 0o600 }));
  const write = async (line: string) => {
    if (!gz.write(line)) await once(gz, 'drain');
  };
  try {
    await write(`${JSON.stringify({ format: BACKUP_FORMAT, version: 1, store: kind, created_at: now().toISOString(), tables: TABLES.map((t) => t.name) })}\n`);
    // One snapshot per database; PostgreSQL's parts are one database, so one snapshot holds for every table.
    for (const store of [...new Set(Object.values(parts))]) {
      await snapshot(store, async (q) => {
        for (const t of TABLES.filter((x) => parts[x.part] === store)) {
          counts[t.name] = 0;
          for await (const r of tableRows(q, t)) {
            counts[t.name]!++;
            await write(`${JSON.stringify({ t: t.name, r: encode(r) })}\n`);
          }
        }
      });
    }
    gz.end();
    await written;
    await rename(tmp, file);
  } catch (err) {
    gz.destroy();
    await written.catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  return { file, rows: counts };
}

export interface RestoreResult {
  from: string;
  rows: Record<string, number>;
}

/** FILE's lines, un-gzipped; the streams are closed when the reader stops early (the header alone) or fails. */
async function* fileLines(file: string): AsyncGenerator<{ no: number; line: string }> {
  const raw = createReadStream(file);
  const gunzip = createGunzip();
  raw.on('error', (err) => gunzip.destroy(err));
  const rl = createInterface({ input: raw.pipe(gunzip), crlfDelay: Infinity });
  let no = 0;
  try {
    for await (const line of rl) {
      no++;
      if (line) yield { no, line };
    }
  } finally {
    rl.close();
    raw.destroy();
    gunzip.destroy();
  }
}

/** Rows a statement: within SQLite's and PostgreSQL's parameter limits for the widest table (16 columns). */
const INSERT_ROWS = 200;

async function insert(q: Q, table: string, rows: Row[]): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_ROWS) {
    const chunk = rows.slice(i, i + INSERT_ROWS);
    const cols = Object.keys(chunk[0]!);
    const names = sql.raw(cols.map((c) => (c === 'offset' ? '"offset"' : c)).join(', '));
    await sql`INSERT INTO ${sql.raw(table)} (${names}) VALUES ${sql.join(chunk.map((r) => sql`(${sql.join(cols.map((c) => r[c] ?? null))})`))}`.execute(q);
  }
}

/**
 * Reads `file` into the store, which must be empty (every table). Each database in one transaction; should a later
 * one fail, the rows already restored into the others are deleted again: a failed restore leaves the store empty.
 * Sequences continue after the restored ids.
 */
export async function restore(parts: StoreParts, file: string): Promise<RestoreResult> {
  for (const t of TABLES) {
    const n = Number((await sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${sql.raw(t.name)}`.execute(parts[t.part].db)).rows[0]!.n);
    if (n > 0) throw new InputError(`the store is not empty (${t.name} has ${n} rows): restore goes into a new, empty store`, 'FILE');
  }
  let header: { format?: string; version?: number } = {};
  try {
    for await (const { line } of fileLines(file)) {
      header = JSON.parse(line) as typeof header;
      break;
    }
  } catch {
    /* named below */
  }
  if (header.format !== BACKUP_FORMAT || header.version !== 1) throw new InputError(`${file} is not a roamlink HQ backup (version 1)`, 'FILE');
  const byTable = new Map(TABLES.map((t) => [t.name, t]));
  const counts: Record<string, number> = Object.fromEntries(TABLES.map((t) => [t.name, 0]));
  const done: StoreDb[] = [];
  try {
    for (const store of [...new Set(Object.values(parts))]) {
      await store.db.transaction().execute(async (trx) => {
        const buffered = new Map<string, Row[]>();
        for await (const { no, line } of fileLines(file)) {
          if (no === 1) continue;
          let rec: { t?: string; r?: Row };
          try {
            rec = JSON.parse(line) as { t?: string; r?: Row };
          } catch {
            throw new InputError(`${file}: line ${no} is not JSON`, 'FILE');
          }
          const t = rec.t === undefined ? undefined : byTable.get(rec.t);
          if (!t || !rec.r || typeof rec.r !== 'object') throw new InputError(`${file}: line ${no} is not a row of a known table`, 'FILE');
          if (parts[t.part] !== store) continue;
          const rows = buffered.get(t.name) ?? [];
          rows.push(decode(rec.r));
          buffered.set(t.name, rows);
          counts[t.name]!++;
          if (rows.length >= 1000) await insert(trx, t.name, rows.splice(0));
        }
        for (const [table, rows] of buffered) await insert(trx, table, rows);
        // PostgreSQL's sequences go on after the restored ids; SQLite's AUTOINCREMENT follows explicit ids by itself.
        if (store.dialect === 'postgres') {
          for (const t of TABLES.filter((x) => x.serial && parts[x.part] === store)) {
            await sql`SELECT setval(pg_get_serial_sequence(${t.name}, ${t.serial!}), COALESCE((SELECT MAX(${sql.raw(t.serial!)}) FROM ${sql.raw(t.name)}), 0) + 1, false)`.execute(trx);
          }
        }
      });
      done.push(store);
    }
  } catch (err) {
    for (const store of done) {
      for (const t of [...TABLES].reverse().filter((x) => parts[x.part] === store)) await sql`DELETE FROM ${sql.raw(t.name)}`.execute(store.db).catch(() => {});
    }
    throw err;
  }
  return { from: file, rows: counts };
}

// The two stores' schemas agree: after migrating, SQLite's files and PostgreSQL's database hold the same tables, columns
// (kind, NOT NULL, primary key) and named indexes, and both are what the one description of each table says (store/table.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { openStores } from '../../concentrator/store/stores.js';
import { openPostgres } from '../../concentrator/store/postgres.js';
import { createTableSql, type ColumnKind, type TableSpec } from '../../concentrator/store/table.js';
import { VEHICLES_TABLE } from '../../concentrator/store/vehicles/schema.js';
import { SWITCH_EVENTS_TABLE } from '../../concentrator/store/events/schema.js';
import { SITE_TABLES } from '../../concentrator/store/sites/schema.js';
import { DRIVE_TABLES } from '../../concentrator/store/drives/schema.js';
import { FLEET_STATE_TABLE } from '../../concentrator/store/fleet/service.js';
import { ENROLLMENT_TABLES } from '../../concentrator/store/enrollments/schema.js';
import { OPERATORS_TABLE } from '../../concentrator/store/operators/service.js';
import { HQ_KEY_TABLE } from '../../concentrator/store/identity/service.js';
import { startTestPostgres, type TestPostgres } from './postgres.fixture.js';

const ALL: TableSpec[] = [VEHICLES_TABLE, FLEET_STATE_TABLE, ...ENROLLMENT_TABLES, OPERATORS_TABLE, HQ_KEY_TABLE, SWITCH_EVENTS_TABLE, ...SITE_TABLES, ...DRIVE_TABLES];

/** A table as both stores can be read back: columns in order, and the indexes made by CREATE INDEX. */
interface Shape {
  columns: Array<{ name: string; kind: 'int' | 'real' | 'text' | 'blob'; notNull: boolean; pk: boolean }>;
  indexes: Array<{ name: string; columns: string[]; unique: boolean }>;
}
type Schema = Record<string, Shape>;

/** What the description says (an `id` is a NOT NULL integer primary key; int32 is an int). */
function expected(t: TableSpec): Shape {
  const pk = new Set(t.primaryKey ?? []);
  const kind = (k: ColumnKind) => (k === 'id' || k === 'int32' ? 'int' : k);
  return {
    columns: t.columns.map((c) => {
      const isPk = c.kind === 'id' || !!c.primaryKey || pk.has(c.name);
      return { name: c.name, kind: kind(c.kind), notNull: isPk || !!c.notNull, pk: isPk };
    }),
    indexes: (t.indexes ?? []).map((i) => ({ name: i.name, columns: i.columns, unique: !!i.unique })).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

const SQLITE_KIND: Record<string, Shape['columns'][number]['kind']> = { INTEGER: 'int', REAL: 'real', TEXT: 'text', BLOB: 'blob' };
const PG_KIND: Record<string, Shape['columns'][number]['kind']> = { bigint: 'int', integer: 'int', 'double precision': 'real', text: 'text', bytea: 'blob' };

function sqliteSchema(file: string): Schema {
  const db = new Database(file, { readonly: true });
  try {
    const out: Schema = {};
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_version'").all() as Array<{ name: string }>;
    for (const { name } of tables) {
      const cols = db.pragma(`table_info(${name})`) as Array<{ name: string; type: string; notnull: number; pk: number }>;
      const idx = (db.pragma(`index_list(${name})`) as Array<{ name: string; unique: number; origin: string }>).filter((i) => i.origin === 'c');
      out[name] = {
        // SQLite reports an INTEGER PRIMARY KEY as nullable; it never is (it is the rowid).
        columns: cols.map((c) => ({ name: c.name, kind: SQLITE_KIND[c.type] ?? (c.type as never), notNull: c.notnull === 1 || c.pk > 0, pk: c.pk > 0 })),
        indexes: idx.map((i) => ({ name: i.name, unique: i.unique === 1, columns: (db.pragma(`index_info(${i.name})`) as Array<{ name: string }>).map((c) => c.name) })).sort((a, b) => a.name.localeCompare(b.name)),
      };
    }
    return out;
  } finally {
    db.close();
  }
}

async function postgresSchema(url: string): Promise<Schema> {
  const s = await openPostgres(url, { max: 1 });
  try {
    const cols = (await sql<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>`
      SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name <> 'roamlink_schema' ORDER BY table_name, ordinal_position`.execute(s.db)).rows;
    const pks = (await sql<{ table_name: string; column_name: string }>`
      SELECT tc.table_name, k.column_name FROM information_schema.table_constraints tc
      JOIN information_schema.key_column_usage k ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema
      WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = 'public'`.execute(s.db)).rows;
    // Indexes made by CREATE INDEX: not those behind a PRIMARY KEY or UNIQUE constraint.
    const idx = (await sql<{ table: string; name: string; unique: boolean; columns: string[] }>`
      SELECT t.relname AS table, i.relname AS name, x.indisunique AS unique,
             array(SELECT a.attname::text FROM unnest(x.indkey) WITH ORDINALITY AS k(n, o) JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o) AS columns
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace ns ON ns.oid = t.relnamespace
      WHERE ns.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`.execute(s.db)).rows;
    const out: Schema = {};
    for (const c of cols) {
      const t = (out[c.table_name] ??= { columns: [], indexes: [] });
      const pk = pks.some((p) => p.table_name === c.table_name && p.column_name === c.column_name);
      t.columns.push({ name: c.column_name, kind: PG_KIND[c.data_type] ?? (c.data_type as never), notNull: c.is_nullable === 'NO', pk });
    }
    for (const i of idx) out[i.table]?.indexes.push({ name: i.name, columns: i.columns, unique: i.unique });
    for (const t of Object.values(out)) t.indexes.sort((a, b) => a.name.localeCompare(b.name));
    return out;
  } finally {
    await s.close();
  }
}

let pg: TestPostgres | null = null;
const dirs: string[] = [];
before(() => {
  pg = startTestPostgres();
});
after(() => {
  pg?.destroy();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('after migrating, SQLite and PostgreSQL have the same tables, columns and indexes, as the tables are described', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-schema-'));
  dirs.push(dir);
  const state = join(dir, 'state');
  const stores = await openStores({ state_dir: state, tunnel_network: '10.99.0.0/24', lan_subnets: [], vehicle_subnets: ['10.0.0.0/8'] });
  await stores.close();
  const lite: Schema = Object.assign({}, ...['registry.sqlite', 'switchlog.sqlite', 'sites.sqlite', 'drives.sqlite'].map((f) => sqliteSchema(join(state, f))));
  const url = await pg!.createDatabase('schema');
  const stores2 = await openStores({ state_dir: state, database: url, tunnel_network: '10.99.0.0/24', lan_subnets: [], vehicle_subnets: ['10.0.0.0/8'] });
  await stores2.close();
  const post = await postgresSchema(url);

  assert.deepEqual(Object.keys(lite).sort(), ALL.map((t) => t.name).sort(), 'SQLite: the described tables, no more');
  assert.deepEqual(Object.keys(post).sort(), ALL.map((t) => t.name).sort(), 'PostgreSQL: the described tables, no more');
  for (const t of ALL) {
    assert.deepEqual(lite[t.name], expected(t), `SQLite's ${t.name}`);
    assert.deepEqual(post[t.name], expected(t), `PostgreSQL's ${t.name}`);
  }
});

test('a description is written in each dialect: the counter, the 64-bit and floating kinds, a quoted keyword, a partial index', () => {
  const t: TableSpec = {
    name: 't',
    columns: [{ name: 'id', kind: 'id', neverReused: true }, { name: 'offset', kind: 'int', notNull: true }, { name: 'x', kind: 'real' }, { name: 'b', kind: 'blob', unique: true }],
    indexes: [{ name: 't_x', columns: ['x', 'offset'], where: 'b IS NULL' }],
  };
  assert.equal(createTableSql(t, 'sqlite'), '\nCREATE TABLE t (\n  id       INTEGER PRIMARY KEY AUTOINCREMENT,\n  "offset" INTEGER NOT NULL,\n  x        REAL,\n  b        BLOB UNIQUE\n);\nCREATE INDEX t_x ON t(x, "offset") WHERE b IS NULL;\n');
  assert.equal(createTableSql(t, 'postgres'), '\nCREATE TABLE t (\n  id       BIGSERIAL PRIMARY KEY,\n  "offset" BIGINT NOT NULL,\n  x        DOUBLE PRECISION,\n  b        BYTEA UNIQUE\n);\nCREATE INDEX t_x ON t(x, "offset") WHERE b IS NULL;\n');
});

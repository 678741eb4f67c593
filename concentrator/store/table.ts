// A table described once (columns, keys, indexes) and written as CREATE statements for SQLite or PostgreSQL, so the
// two stores' migrations cannot drift apart (review finding D1: PostgreSQL's first step repeated SQLite's by hand).
import type { DialectName } from './sql.js';

/**
 * A column's kind, not a dialect's type name:
 * - `id`: the table's own counter, its primary key (SQLite `INTEGER PRIMARY KEY`, rowid-backed; PostgreSQL `BIGSERIAL`);
 * - `int`: a whole number, ms since the epoch included (SQLite INTEGER, 64-bit; PostgreSQL BIGINT);
 * - `int32`: a small whole number (PostgreSQL INTEGER; SQLite INTEGER as any);
 * - `real`, `text`, `blob` (PostgreSQL DOUBLE PRECISION, TEXT, BYTEA).
 */
export type ColumnKind = 'id' | 'int' | 'int32' | 'real' | 'text' | 'blob';

export interface Column {
  name: string;
  kind: ColumnKind;
  /** NOT NULL (an `id` and a lone primary key are not null anyway). */
  notNull?: boolean;
  /** The primary key on its own. */
  primaryKey?: boolean;
  unique?: boolean;
  /** SQLite only (`id`): AUTOINCREMENT, a number never given again even after the newest row is deleted (a
   *  PostgreSQL sequence never gives one again anyway). */
  neverReused?: boolean;
}

export interface Index {
  name: string;
  columns: string[];
  unique?: boolean;
  /** A partial index's condition, the same SQL in both dialects. */
  where?: string;
}

export interface TableSpec {
  name: string;
  columns: Column[];
  /** A primary key of several columns. */
  primaryKey?: string[];
  /** UNIQUE constraints of several columns. */
  unique?: string[][];
  foreignKeys?: Array<{ columns: string[]; references: string; refColumns: string[]; onDelete?: 'CASCADE' }>;
  indexes?: Index[];
}

/** Words either dialect would read as SQL, not a column name. */
const RESERVED = new Set(['offset', 'order', 'group', 'limit', 'user', 'table', 'select', 'from', 'where']);
const ident = (name: string) => (RESERVED.has(name) ? `"${name}"` : name);

function columnSql(c: Column, dialect: DialectName): string {
  if (c.kind === 'id') return dialect === 'postgres' ? 'BIGSERIAL PRIMARY KEY' : `INTEGER PRIMARY KEY${c.neverReused ? ' AUTOINCREMENT' : ''}`;
  const type = { int: dialect === 'postgres' ? 'BIGINT' : 'INTEGER', int32: 'INTEGER', real: dialect === 'postgres' ? 'DOUBLE PRECISION' : 'REAL', text: 'TEXT', blob: dialect === 'postgres' ? 'BYTEA' : 'BLOB' }[c.kind];
  return [type, c.notNull ? 'NOT NULL' : '', c.primaryKey ? 'PRIMARY KEY' : '', c.unique ? 'UNIQUE' : ''].filter(Boolean).join(' ');
}

/** The table's CREATE TABLE and CREATE INDEX statements in that dialect. */
export function createTableSql(t: TableSpec, dialect: DialectName): string {
  const width = Math.max(...t.columns.map((c) => ident(c.name).length));
  const lines = t.columns.map((c) => `  ${ident(c.name).padEnd(width)} ${columnSql(c, dialect)}`);
  const list = (cols: string[]) => cols.map(ident).join(', ');
  if (t.primaryKey) lines.push(`  PRIMARY KEY (${list(t.primaryKey)})`);
  for (const u of t.unique ?? []) lines.push(`  UNIQUE (${list(u)})`);
  for (const f of t.foreignKeys ?? []) lines.push(`  FOREIGN KEY (${list(f.columns)}) REFERENCES ${f.references}(${list(f.refColumns)})${f.onDelete ? ` ON DELETE ${f.onDelete}` : ''}`);
  const indexes = (t.indexes ?? []).map((i) => `CREATE ${i.unique ? 'UNIQUE ' : ''}INDEX ${i.name} ON ${t.name}(${list(i.columns)})${i.where ? ` WHERE ${i.where}` : ''};`);
  return `\nCREATE TABLE ${t.name} (\n${lines.join(',\n')}\n);\n${indexes.map((s) => `${s}\n`).join('')}`;
}

/** Several tables, in order (a table before those whose foreign keys name it). */
export function createTablesSql(tables: readonly TableSpec[], dialect: DialectName): string {
  return tables.map((t) => createTableSql(t, dialect)).join('');
}

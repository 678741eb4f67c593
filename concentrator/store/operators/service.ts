// The admin listener's operators in the registry (issue 14): each a name and the SHA-256 of their token, so that two
// concentrators on one store accept the same tokens. A removal is kept (removed_at) so that an old operators file,
// adopted once by a concentrator that still has it, never brings back an operator removed on the other.
import { sql, type Kysely } from 'kysely';
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { InputError } from '../../../shared/errors.js';
import type { Operator } from '../../admin/operators.js';
import { readOperatorsFile } from '../../admin/operators.js';
import type { StoreDb } from '../sql.js';
import type { TableSpec } from '../table.js';

/** In the registry's database (SQLite registry.sqlite, schema version 4; PostgreSQL version 4). Never a token: its hash. */
export const OPERATORS_TABLE: TableSpec = {
  name: 'operators',
  columns: [
    { name: 'name', kind: 'text', primaryKey: true },
    { name: 'sha256', kind: 'text', notNull: true },
    { name: 'created_at', kind: 'text', notNull: true },
    { name: 'removed_at', kind: 'text' },
  ],
};

interface Row {
  name: string;
  sha256: string;
  removed_at: string | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Q = Kysely<any>;

export class OperatorStore {
  constructor(
    private readonly store: StoreDb,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The operators in effect, by name. */
  async active(): Promise<Operator[]> {
    const rows = (await sql<Row>`SELECT name, sha256 FROM operators WHERE removed_at IS NULL ORDER BY name`.execute(this.store.db)).rows;
    return rows.map((r) => ({ name: r.name, sha256: r.sha256 }));
  }

  /** Adds one (a removed name may be given again, with a new token). Refused: the name in effect, or the token another's. */
  async add(op: Operator): Promise<void> {
    await this.store.db.transaction().execute(async (trx) => {
      const rows = await this.rows(trx);
      if (rows.some((r) => r.name === op.name && r.removed_at === null)) throw new InputError(`operator ${op.name} exists (remove it first to give a new token)`, 'NAME');
      // The message never quotes the token nor its hash.
      if (rows.some((r) => r.sha256 === op.sha256 && r.removed_at === null)) throw new InputError("that token is already another operator's", '--token-file');
      await sql`INSERT INTO operators (name, sha256, created_at, removed_at) VALUES (${op.name}, ${op.sha256}, ${this.now().toISOString()}, NULL)
        ON CONFLICT (name) DO UPDATE SET sha256 = excluded.sha256, created_at = excluded.created_at, removed_at = NULL`.execute(trx);
    });
  }

  /** Removes one: their token stops working on every concentrator at its next reload. */
  async remove(name: string): Promise<void> {
    const n = (await sql`UPDATE operators SET removed_at = ${this.now().toISOString()} WHERE name = ${name} AND removed_at IS NULL RETURNING name`.execute(this.store.db)).rows.length;
    if (n === 0) throw new InputError(`no operator ${name}`, 'NAME');
  }

  /**
   * Adopts the operators of a file (before the store held them): each name the store has never had, in effect or
   * removed, is added; a name it knows stays as it is there (the store wins), as does a token already another's.
   */
  async adopt(ops: readonly Operator[]): Promise<{ adopted: string[]; kept: string[] }> {
    return this.store.db.transaction().execute(async (trx) => {
      const rows = await this.rows(trx);
      const known = new Set(rows.map((r) => r.name));
      const hashes = new Set(rows.filter((r) => r.removed_at === null).map((r) => r.sha256));
      const adopted: string[] = [];
      const kept: string[] = [];
      for (const o of ops) {
        if (known.has(o.name) || hashes.has(o.sha256)) {
          kept.push(o.name);
          continue;
        }
        await sql`INSERT INTO operators (name, sha256, created_at, removed_at) VALUES (${o.name}, ${o.sha256}, ${this.now().toISOString()}, NULL)`.execute(trx);
        known.add(o.name);
        hashes.add(o.sha256);
        adopted.push(o.name);
      }
      return { adopted, kept };
    });
  }

  private async rows(q: Q): Promise<Row[]> {
    return (await sql<Row>`SELECT name, sha256, removed_at FROM operators`.execute(q)).rows;
  }
}

/** Where an operators file goes once the store has it: beside it, never read again. */
export function adoptedPath(file: string): string {
  return `${file}.in-store`;
}

/**
 * The operators file of a concentrator from before the store held them (admin_operators_file), adopted once: its
 * operators the store has never had are added, and the file is renamed `FILE.in-store` (kept, not read again). Run at
 * every start and reload, and by `roamlink hq operator …`; nothing to do once the file is gone. A bad or open file is
 * refused (InputError, the file named, no line quoted) and left where it is.
 */
export async function adoptOperatorsFile(store: OperatorStore, file: string): Promise<{ adopted: string[]; kept: string[] } | null> {
  if (!existsSync(file)) return null;
  const r = await store.adopt(await readOperatorsFile(file));
  await rename(file, adoptedPath(file));
  return r;
}

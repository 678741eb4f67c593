// Who is calling: the active vehicle whose tunnel address a request comes from (one indexed lookup, so revocation is immediate).
import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import { sqliteStore, type StoreDb } from '../store/sql.js';

export function createVehicleLookup(db: Db | StoreDb): (address: string) => Promise<{ name: string } | null> {
  const store = 'dialect' in db ? db : sqliteStore(db);
  return async (address) => (await sql<{ name: string }>`SELECT name FROM vehicles WHERE tunnel_address = ${address} AND revoked_at IS NULL`.execute(store.lookup ?? store.db)).rows[0] ?? null;
}

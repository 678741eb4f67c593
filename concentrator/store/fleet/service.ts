// The fleet's live state kept in the store (one row per vehicle: its last heartbeat, when it arrived, its LTE days), so
// that a restarted HQ, or the other concentrator sharing the store, knows which vehicles are online and their clocks.
import { sql } from 'kysely';
import type { FleetSnapshot } from '../../agent-api/fleet.js';
import type { Heartbeat } from '../../../shared/wire/heartbeat.js';
import type { StoreDb } from '../sql.js';
import type { TableSpec } from '../table.js';

/** In the registry's database (SQLite: registry.sqlite, its schema version 2; PostgreSQL: version 2). */
export const FLEET_STATE_TABLE: TableSpec = {
  name: 'fleet_state',
  columns: [
    { name: 'vehicle', kind: 'text', primaryKey: true },
    { name: 'received_at', kind: 'int', notNull: true },
    { name: 'heartbeat', kind: 'text', notNull: true },
    { name: 'lte', kind: 'text', notNull: true },
  ],
};

interface Row {
  vehicle: string;
  received_at: number;
  heartbeat: string;
  lte: string;
}

export class FleetStateStore {
  constructor(private readonly store: StoreDb) {}

  /** Upserts the snapshots; a row is never replaced by an older heartbeat (two concentrators writing, a late flush). */
  async save(snaps: readonly FleetSnapshot[]): Promise<void> {
    for (let i = 0; i < snaps.length; i += 500) {
      const chunk = snaps.slice(i, i + 500);
      await sql`INSERT INTO fleet_state (vehicle, received_at, heartbeat, lte) VALUES ${sql.join(
        chunk.map((s) => sql`(${s.vehicle}, ${s.receivedAt}, ${JSON.stringify(s.last)}, ${JSON.stringify(s.lte)})`),
      )} ON CONFLICT (vehicle) DO UPDATE SET received_at = excluded.received_at, heartbeat = excluded.heartbeat, lte = excluded.lte
        WHERE excluded.received_at >= fleet_state.received_at`.execute(this.store.db);
      // A vehicle revoked meanwhile (its row deleted with it) is not written back by a heartbeat that came before.
      await sql`DELETE FROM fleet_state WHERE vehicle IN (${sql.join(chunk.map((s) => s.vehicle))})
        AND vehicle IN (SELECT name FROM vehicles WHERE revoked_at IS NOT NULL)
        AND vehicle NOT IN (SELECT name FROM vehicles WHERE revoked_at IS NULL)`.execute(this.store.db);
    }
  }

  async load(): Promise<FleetSnapshot[]> {
    const rows = (await sql<Row>`SELECT * FROM fleet_state ORDER BY vehicle`.execute(this.store.db)).rows;
    return rows.map((r) => ({ vehicle: r.vehicle, receivedAt: r.received_at, last: JSON.parse(r.heartbeat) as Heartbeat, lte: JSON.parse(r.lte) as Array<[string, number]> }));
  }

  /** A revoked vehicle's row goes with it. */
  async forget(vehicle: string): Promise<void> {
    await sql`DELETE FROM fleet_state WHERE vehicle = ${vehicle}`.execute(this.store.db);
  }
}

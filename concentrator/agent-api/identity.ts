// Who is calling: the active vehicle whose tunnel address a request comes from, asked of the registry on every call
// (batched per turn of the event loop on PostgreSQL). The daemon answers from memory instead (VehicleService.byAddress
// with the registry's change feed, store/vehicles/callers.ts); this uncached lookup is the tests' and bench/hq's baseline.
import type { Db } from '../store/db.js';
import { sqliteStore, type StoreDb } from '../store/sql.js';
import { addressLookup } from '../store/vehicles/service.js';

export function createVehicleLookup(db: Db | StoreDb): (address: string) => Promise<{ name: string } | null> {
  return addressLookup('dialect' in db ? db : sqliteStore(db));
}

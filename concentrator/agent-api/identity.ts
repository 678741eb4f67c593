// Who is calling: the active vehicle whose tunnel address a request comes from (the registry's lookup, batched per turn
// of the event loop and never cached, so revocation is immediate).
import type { Db } from '../store/db.js';
import { sqliteStore, type StoreDb } from '../store/sql.js';
import { addressLookup } from '../store/vehicles/service.js';

export function createVehicleLookup(db: Db | StoreDb): (address: string) => Promise<{ name: string } | null> {
  return addressLookup('dialect' in db ? db : sqliteStore(db));
}

// Who is calling: the active vehicle whose tunnel address a request comes from (one indexed lookup, so revocation is immediate).
import type { Db } from '../store/db.js';

export function createVehicleLookup(db: Db): (address: string) => Promise<{ name: string } | null> {
  const q = db.prepare('SELECT name FROM vehicles WHERE tunnel_address = ? AND revoked_at IS NULL');
  return async (address) => (q.get(address) as { name: string } | undefined) ?? null;
}

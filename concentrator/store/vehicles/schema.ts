// The vehicle entity: its table, its row and API shapes, and the rules a name, subnet, key and site must follow.
import { InputError } from '../../../shared/errors.js';
import { createTableSql, type TableSpec } from '../table.js';

/**
 * Names are unique among vehicles not revoked (a revoked vehicle's name may be registered again, with a new key);
 * public keys are unique forever (a revoked key stays burned). Addresses and subnets are held by active vehicles.
 */
export const VEHICLES_TABLE: TableSpec = {
  name: 'vehicles',
  columns: [
    { name: 'id', kind: 'id' },
    { name: 'name', kind: 'text', notNull: true },
    { name: 'public_key', kind: 'text', notNull: true, unique: true },
    { name: 'tunnel_address', kind: 'text', notNull: true },
    { name: 'subnet', kind: 'text', notNull: true },
    { name: 'site', kind: 'text' },
    { name: 'created_at', kind: 'text', notNull: true },
    { name: 'revoked_at', kind: 'text' },
  ],
  indexes: [
    { name: 'vehicles_active_name', columns: ['name'], unique: true, where: 'revoked_at IS NULL' },
    { name: 'vehicles_active_address', columns: ['tunnel_address'], unique: true, where: 'revoked_at IS NULL' },
  ],
};

/** The registry's schema version 1 in SQLite. */
export const VEHICLES_V1 = createTableSql(VEHICLES_TABLE, 'sqlite');

/** A vehicle as stored, and as the API and `--json` show it. */
export interface Vehicle {
  name: string;
  public_key: string;
  /** Its tunnel address, e.g. 10.99.0.2 (peer allowed-ips carry it as /32). */
  tunnel_address: string;
  /** Its LAN, routed to it through the tunnel, e.g. 10.20.7.0/24. */
  subnet: string;
  site: string | null;
  created_at: string;
  revoked_at: string | null;
}

export interface VehicleRow extends Vehicle {
  id: number;
}

export function toVehicle(r: VehicleRow): Vehicle {
  return {
    name: r.name,
    public_key: r.public_key,
    tunnel_address: r.tunnel_address,
    subnet: r.subnet,
    site: r.site,
    created_at: r.created_at,
    revoked_at: r.revoked_at,
  };
}

const NAME_RE = /^[a-z0-9][a-z0-9\-_.]{0,62}$/;
const SITE_RE = /^[A-Za-z0-9][A-Za-z0-9 \-_.]{0,62}$/;

export function assertVehicleName(name: string, field = 'NAME'): string {
  if (!NAME_RE.test(name)) {
    throw new InputError(`"${name}" is not a vehicle name (1-63 of a-z 0-9 - _ ., starting with a letter or digit)`, field);
  }
  return name;
}

export function assertSite(site: string, field = '--site'): string {
  if (!SITE_RE.test(site)) throw new InputError(`"${site}" is not a site name (1-63 of letters, digits, space - _ ., starting with a letter or digit)`, field);
  return site;
}

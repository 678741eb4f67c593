// Registering, listing and revoking vehicles: every rule is checked inside one transaction, so a refusal changes nothing.
// One SQL for SQLite and PostgreSQL (store/sql.ts).
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../../shared/errors.js';
import { assertWgKey } from '../../../shared/wg.js';
import { PRIVATE_RANGES, firstFreeSubnet, firstHost, formatCidr, formatIPv4, lowestFree, overlaps, parseCidr, parseIPv4, requireNetwork, reservedOverlap, within, type Cidr } from '../../cidr.js';
import DataLoader from 'dataloader';
import { sql, type Kysely } from 'kysely';
import type { Db } from '../db.js';
import { sqliteStore, type StoreDb } from '../sql.js';
import { assertSite, assertVehicleName, toVehicle, type Vehicle, type VehicleRow } from './schema.js';
import { CallerCache, readCallers, type CallerStats, type RegistryWatch } from './callers.js';

export interface VehicleServiceOptions {
  /** The tunnel's network (CIDR); its first host is HQ's and is never given to a vehicle. */
  tunnelNetwork: string;
  /** HQ LAN networks: vehicle subnets must not overlap them. */
  lanSubnets?: string[];
  /** The pool (config vehicle_subnets): a vehicle subnet lies inside one entry. Default: the private ranges. */
  vehicleSubnets?: readonly string[];
  /** The concentrator's own public key, which no vehicle may use. */
  hqPublicKey?: string;
  /** Where generated private keys are written (NAME.key, mode 0600). */
  keysDir?: string;
  now?: () => Date;
  /**
   * The registry's change feed (vehicles/callers.ts): given, byAddress answers from a map of the registry held in
   * memory, read again whenever the feed says the registry changed (openStores gives one: the daemon's). Absent, each
   * lookup asks the store (the CLI).
   */
  watch?: RegistryWatch;
}

export interface AddVehicle {
  name: string;
  /** The vehicle's LAN; absent: the lowest free /24 (subnetPrefix) in the pool. */
  subnet?: string;
  /** The size of an allocated subnet (default 24). */
  subnetPrefix?: number;
  publicKey: string;
  site?: string | null;
  /** A generated private key to store in keysDir/NAME.key (written in the same transaction as the row). */
  privateKey?: string;
  /**
   * Runs inside the add's transaction once the row is in (an enrollment code spent, an audit line): when it throws,
   * nothing is added.
   */
  also?: (trx: Q, vehicle: Vehicle) => Promise<void>;
}

export interface AddedVehicle {
  vehicle: Vehicle;
  /** Where the private key was written, when one was given. */
  privateKeyFile?: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Q = Kysely<any>;

/** Addresses looked up in one query at most (an IN list well inside SQLite's parameter limit). */
const LOOKUP_BATCH = 500;

/**
 * The lookup of the agents' API's callers: the active vehicle at each tunnel address, else null. On PostgreSQL the
 * lookups asked in one turn of the event loop go as one indexed query, over the lookup pool (StoreDb.lookup): at 2,000
 * agents a query per request queued for a connection for seconds (bench/hq, 2026-12-03, load 13). On SQLite each is
 * its own query at once (a few µs, in process; waiting for the next turn to batch cost more than it saved). Nothing is
 * cached here: VehicleService puts a CallerCache (callers.ts) in front of it when given the registry's change feed.
 */
export function addressLookup(store: StoreDb): (address: string) => Promise<{ name: string } | null> {
  if (store.dialect === 'sqlite') {
    return async (address) => (await sql<{ name: string }>`SELECT name FROM vehicles WHERE tunnel_address = ${address} AND revoked_at IS NULL`.execute(store.db)).rows[0] ?? null;
  }
  const loader = new DataLoader<string, { name: string } | null>(
    async (addresses) => {
      const rows = (await sql<{ name: string; tunnel_address: string }>`SELECT name, tunnel_address FROM vehicles WHERE revoked_at IS NULL AND tunnel_address IN (${sql.join(addresses)})`.execute(store.lookup ?? store.db)).rows;
      const by = new Map(rows.map((r) => [r.tunnel_address, { name: r.name }]));
      return addresses.map((a) => by.get(a) ?? null);
    },
    { cache: false, maxBatchSize: LOOKUP_BATCH, batchScheduleFn: (run) => setImmediate(run) },
  );
  return (address) => loader.load(address);
}

export class VehicleService {
  readonly store: StoreDb;
  private readonly tunnel: Cidr;
  private readonly hqAddress: number;
  private readonly lans: Array<{ text: string; cidr: Cidr }>;
  private readonly pool: Array<{ text: string; cidr: Cidr }>;
  private readonly now: () => Date;
  private readonly callers: (address: string) => Promise<{ name: string } | null>;
  private readonly cache: CallerCache | null;

  constructor(
    /** The registry: an open SQLite file (openDb) or a store (SQLite or PostgreSQL). */
    db: Db | StoreDb,
    private readonly opts: VehicleServiceOptions,
  ) {
    this.store = 'dialect' in db ? db : sqliteStore(db);
    const direct = addressLookup(this.store);
    this.cache = opts.watch ? new CallerCache(readCallers(this.store), opts.watch, direct) : null;
    this.callers = this.cache ? (address) => this.cache!.lookup(address) : direct;
    const t = parseCidr(opts.tunnelNetwork);
    if (!t) throw new InputError(`${opts.tunnelNetwork} is not an IPv4 CIDR`, 'tunnel_network');
    this.tunnel = t;
    this.hqAddress = firstHost(t);
    this.lans = (opts.lanSubnets ?? []).map((text, i) => ({ text, cidr: requireNetwork(text, `lan_subnets[${i}]`) }));
    this.pool = (opts.vehicleSubnets ?? PRIVATE_RANGES).map((text, i) => ({ text, cidr: requireNetwork(text, `vehicle_subnets[${i}]`) }));
    this.now = opts.now ?? (() => new Date());
  }

  /** Refuses a subnet in a reserved range or outside the pool, naming the field and the range. Pure. */
  private checkPool(subnet: Cidr, text: string): void {
    const reserved = reservedOverlap(subnet);
    if (reserved) throw new InputError(`${text} overlaps ${reserved}: a reserved range is never a vehicle's LAN`, '--subnet');
    if (!this.pool.some((p) => within(subnet, p.cidr))) {
      throw new InputError(`${text} is not inside the vehicle subnet pool (vehicle_subnets: ${this.pool.map((p) => p.text).join(', ')})`, '--subnet');
    }
  }

  /** Every vehicle ever registered, revoked ones included, in registration order. */
  async list(): Promise<Vehicle[]> {
    return (await sql<VehicleRow>`SELECT * FROM vehicles ORDER BY id`.execute(this.store.db)).rows.map(toVehicle);
  }

  /** The vehicles not revoked: what the concentrator programs. */
  async active(q: Q = this.store.db): Promise<Vehicle[]> {
    return (await sql<VehicleRow>`SELECT * FROM vehicles WHERE revoked_at IS NULL ORDER BY id`.execute(q)).rows.map(toVehicle);
  }

  /** The active vehicle of that name, else the one revoked last; null when there never was one. */
  async get(name: string, q: Q = this.store.db): Promise<Vehicle | null> {
    const r = (await sql<VehicleRow>`SELECT * FROM vehicles WHERE name = ${name} ORDER BY (CASE WHEN revoked_at IS NULL THEN 1 ELSE 0 END) DESC, id DESC LIMIT 1`.execute(q)).rows[0];
    return r ? toVehicle(r) : null;
  }

  async require(name: string, field = 'NAME'): Promise<Vehicle> {
    const v = await this.get(assertVehicleName(name, field));
    if (!v) throw new InputError(`no vehicle "${name}"`, field);
    return v;
  }

  /** The active vehicle whose tunnel address this is (the agents' API's caller), else null (addressLookup). */
  byAddress(address: string): Promise<{ name: string } | null> {
    return this.callers(address);
  }

  /** How byAddress was answered (null: not cached). */
  callerStats(): Readonly<CallerStats> | null {
    return this.cache?.stats ?? null;
  }


  /** A change: one transaction; on PostgreSQL the registry is locked first, so two writers (CLI, daemon) take turns. */
  private async write<T>(fn: (trx: Q) => Promise<T>): Promise<T> {
    try {
      return await this.store.db.transaction().execute(async (trx) => {
        if (this.store.dialect === 'postgres') await sql`LOCK TABLE vehicles IN SHARE ROW EXCLUSIVE MODE`.execute(trx);
        return fn(trx);
      });
    } finally {
      // Committed or not (a commit whose answer was lost may have happened): the map is read again before it answers.
      this.cache?.invalidate();
    }
  }

  async add(input: AddVehicle): Promise<AddedVehicle> {
    const name = assertVehicleName(input.name, 'NAME');
    let subnet = input.subnet === undefined ? null : requireNetwork(input.subnet, '--subnet');
    if (subnet && input.subnet) this.checkPool(subnet, input.subnet);
    const prefix = input.subnetPrefix ?? 24;
    if (!Number.isInteger(prefix) || prefix < 8 || prefix > 30) throw new InputError(`/${prefix}: a vehicle subnet is /8 to /30`, '--subnet-prefix');
    const publicKey = assertWgKey(input.publicKey, '--pubkey');
    const site = input.site === undefined || input.site === null ? null : assertSite(input.site);
    if (input.privateKey !== undefined) assertWgKey(input.privateKey, 'private key', false);

    return this.write(async (trx): Promise<AddedVehicle> => {
      const byName = (await sql`SELECT 1 FROM vehicles WHERE name = ${name} AND revoked_at IS NULL`.execute(trx)).rows[0];
      if (byName) throw new InputError(`vehicle "${name}" already exists`, 'NAME');

      const byKey = (await sql<{ name: string; revoked_at: string | null }>`SELECT name, revoked_at FROM vehicles WHERE public_key = ${publicKey}`.execute(trx)).rows[0];
      if (byKey) {
        throw new InputError(`already registered to vehicle "${byKey.name}"${byKey.revoked_at ? ` (revoked ${byKey.revoked_at}; a revoked key cannot be reused)` : ''}`, '--pubkey');
      }
      if (this.opts.hqPublicKey && publicKey === this.opts.hqPublicKey) throw new InputError(`is the concentrator's own public key`, '--pubkey');

      const active = await this.active(trx);
      if (subnet === null) {
        const taken = [this.tunnel, ...this.lans.map((l) => l.cidr), ...active.map((v) => parseCidr(v.subnet)!)];
        subnet = firstFreeSubnet(this.pool.map((p) => p.cidr), prefix, taken);
        if (!subnet) throw new InputError(`no free /${prefix} left in the vehicle subnet pool (vehicle_subnets: ${this.pool.map((p) => p.text).join(', ')}); give one, or widen the pool`, '--subnet');
      }
      const subnetText = formatCidr(subnet);
      if (overlaps(subnet, this.tunnel)) throw new InputError(`${subnetText} overlaps the tunnel network ${this.opts.tunnelNetwork}`, '--subnet');
      for (const lan of this.lans) if (overlaps(subnet, lan.cidr)) throw new InputError(`${subnetText} overlaps HQ LAN ${lan.text}`, '--subnet');
      for (const v of active) {
        if (overlaps(subnet, parseCidr(v.subnet)!)) throw new InputError(`${subnetText} overlaps vehicle "${v.name}" (${v.subnet})`, '--subnet');
      }

      const taken = [this.hqAddress, ...active.map((v) => parseIPv4(v.tunnel_address)!)];
      const addr = lowestFree(this.tunnel, taken);
      if (addr === null) throw new Error(`tunnel_network ${this.opts.tunnelNetwork} is full (${active.length} vehicles and HQ)`);

      const row = {
        name,
        public_key: publicKey,
        tunnel_address: formatIPv4(addr),
        subnet: `${formatIPv4(subnet.addr)}/${subnet.prefix}`,
        site,
        created_at: this.now().toISOString(),
      };
      await sql`INSERT INTO vehicles (name, public_key, tunnel_address, subnet, site, created_at)
        VALUES (${row.name}, ${row.public_key}, ${row.tunnel_address}, ${row.subnet}, ${row.site}, ${row.created_at})`.execute(trx);
      const vehicle: Vehicle = { ...row, revoked_at: null };
      await input.also?.(trx, vehicle);
      // Written last and atomically (temp file, rename): if it fails, the transaction rolls back the row.
      if (input.privateKey !== undefined) return { vehicle, privateKeyFile: this.writeKey(name, input.privateKey) };
      return { vehicle };
    });
  }

  /**
   * Marks the active vehicle NAME revoked; its address and subnet become free, and its stored fleet state (last
   * heartbeat, LTE days) goes. `also` runs in the same transaction (an audit line).
   */
  async revoke(name: string, also?: (trx: Q, vehicle: Vehicle) => Promise<void>): Promise<Vehicle> {
    assertVehicleName(name, 'NAME');
    return this.write(async (trx): Promise<Vehicle> => {
      const r = (await sql<VehicleRow>`SELECT * FROM vehicles WHERE name = ${name} AND revoked_at IS NULL`.execute(trx)).rows[0];
      if (!r) {
        const old = await this.get(name, trx);
        throw new InputError(old ? `vehicle "${name}" is already revoked (${old.revoked_at})` : `no vehicle "${name}"`, 'NAME');
      }
      const at = this.now().toISOString();
      await sql`UPDATE vehicles SET revoked_at = ${at} WHERE id = ${r.id}`.execute(trx);
      await sql`DELETE FROM fleet_state WHERE vehicle = ${name}`.execute(trx);
      const v = toVehicle({ ...r, revoked_at: at });
      await also?.(trx, v);
      return v;
    });
  }

  private writeKey(name: string, privateKey: string): string {
    if (!this.opts.keysDir) throw new Error('no keys directory to store a generated private key in');
    mkdirSync(this.opts.keysDir, { recursive: true, mode: 0o700 });
    const file = join(this.opts.keysDir, `${name}.key`);
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, `${privateKey}\n`, { mode: 0o600, flag: 'wx' });
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    return file;
  }
}

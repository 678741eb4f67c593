// HQ's stores opened as one: the registry, switch log, sites and drives, in SQLite files under state_dir (the default,
// nothing to set up) or all in the PostgreSQL database of config `database`. The daemon and the CLI both open them here.
import type { HqConfig } from '../../shared/config/hq.js';
import { openDb } from './db.js';
import { drivesPath, openDrivesDb } from './drives/db.js';
import type { DriveRepository } from './drives/repository.js';
import { SqlDriveStore } from './drives/service.js';
import { eventsPath, openEventsDb } from './events/db.js';
import { EventStore } from './events/service.js';
import { postgresEventWriter, sqliteEventWriter } from './events/writer.js';
import { openSitesDb, sitesPath } from './sites/db.js';
import { SiteService } from './sites/service.js';
import { sqliteStore, type DialectName, type StoreDb } from './sql.js';
import type { StoreParts } from './backup.js';
import { keysDir, registryPath } from './vehicles/open.js';
import { VehicleService } from './vehicles/service.js';
import { sqliteRegistryWatch } from './vehicles/callers.js';
import { FleetStateStore } from './fleet/service.js';
import { EnrollmentService } from './enrollments/service.js';
import { OperatorStore } from './operators/service.js';
import { HqKeyStore } from './identity/service.js';

export interface Stores {
  readonly kind: DialectName;
  readonly vehicles: VehicleService;
  readonly events: EventStore;
  readonly sites: SiteService;
  readonly drives: DriveRepository;
  /** The fleet's live state (last heartbeats), for a restart or the other concentrator. */
  readonly fleet: FleetStateStore;
  /** Enrollment codes and the registry's audit (in the registry's database). */
  readonly enrollments: EnrollmentService;
  /** The admin listener's operators (their tokens' hashes), in the registry's database: both concentrators' one list. */
  readonly operators: OperatorStore;
  /** HQ's WireGuard public key as the registry knows it: checked at each start (identity/service.ts). */
  readonly hqKey: HqKeyStore;
  /** The databases behind them (backup, restore): PostgreSQL's one for all, or SQLite's file per store. */
  readonly parts: StoreParts;
  /** Closes every database (safe to call twice). */
  close(): Promise<void>;
}

export interface OpenStoresOptions {
  /** The concentrator's own public key, which no vehicle may use. */
  hqPublicKey?: string;
  /** HQ's wall clock for the switch log's received_at. */
  now?: () => number;
  /** Told when a pooled PostgreSQL connection broke while idle (the pool reconnects on the next query). */
  onIdleError?: (err: Error) => void;
  /** PostgreSQL: the registry's change feed broke or could not start (the agents' lookups ask the database meanwhile). */
  onWatchError?: (err: Error) => void;
  /** PostgreSQL: a commit changed the registry (any client's: the other concentrator, the CLI): reconcile now. */
  onRegistryChange?: () => void;
}

/** A store shared by several repositories: their own close() leaves it open; Stores.close() closes it. */
const shared = (s: StoreDb): StoreDb => ({ db: s.db, dialect: s.dialect, ...(s.lookup ? { lookup: s.lookup } : {}), close: async () => {} });

/**
 * Opens and migrates the stores the config names. An unreachable or wrong database throws a DatabaseError (the URL's
 * password never in it) within connect_timeout: never a hang.
 */
export async function openStores(cfg: Pick<HqConfig, 'state_dir' | 'database' | 'tunnel_network' | 'lan_subnets' | 'vehicle_subnets'>, o: OpenStoresOptions = {}): Promise<Stores> {
  const vehicleOpts = { tunnelNetwork: cfg.tunnel_network, lanSubnets: cfg.lan_subnets, vehicleSubnets: cfg.vehicle_subnets, hqPublicKey: o.hqPublicKey, keysDir: keysDir(cfg) };
  const eventOpts = o.now ? { now: o.now } : {};
  if (cfg.database) {
    const { openPostgres } = await import('./postgres.js');
    // Two connections of their own for the agents' API's lookup of each caller (bench/hq: with the commits' pool busy,
    // the lookup waited seconds for a connection).
    const pgStore = await openPostgres(cfg.database, { onIdleError: o.onIdleError, lookupMax: 2 });
    const s = shared(pgStore);
    // The registry's change feed (LISTEN on a connection of its own): the agents' API answers who is calling from
    // memory, without a query per request (bench/hq, 2026-12-04: that lookup took a median 86 ms under load).
    const { postgresRegistryWatch } = await import('./vehicles/watch.postgres.js');
    const watch = postgresRegistryWatch(cfg.database, { onError: o.onWatchError, onChange: o.onRegistryChange });
    await watch.ready();
    // The switch log's ingest on a connection of its own in a thread of its own (events/writer.ts): the protocol work
    // of its commits off the event loop, as SQLite's writer thread takes its fsyncs.
    const writer = postgresEventWriter(cfg.database);
    let closed = false;
    return {
      kind: 'postgres',
      vehicles: new VehicleService(s, { ...vehicleOpts, watch }),
      events: new EventStore(s, { ...eventOpts, writer }),
      sites: new SiteService(s),
      drives: new SqlDriveStore(s),
      fleet: new FleetStateStore(s),
      enrollments: new EnrollmentService(s),
      operators: new OperatorStore(s),
      hqKey: new HqKeyStore(s),
      parts: { registry: s, events: s, sites: s, drives: s },
      close: async () => {
        if (closed) return;
        closed = true;
        await watch.close();
        await writer.close();
        await pgStore.close();
      },
    };
  }
  // SQLite: a file per store (the switch log's and the drives' writes and vacuums never hold up the registry's).
  const files: StoreDb[] = [];
  // The switch log's writes on a thread of their own (events/writer.ts): its commits' fsyncs off the event loop.
  const writer = sqliteEventWriter(eventsPath(cfg.state_dir));
  const open = <T extends Parameters<typeof sqliteStore>[0]>(db: T) => {
    const s = sqliteStore(db);
    files.push(s);
    return shared(s);
  };
  try {
    const parts: StoreParts = {
      registry: open(openDb(registryPath(cfg))),
      events: open(openEventsDb(eventsPath(cfg.state_dir))),
      sites: open(openSitesDb(sitesPath(cfg.state_dir))),
      drives: open(openDrivesDb(drivesPath(cfg.state_dir))!),
    };
    // The agents' callers from memory, trusted while the registry file's data_version says no other connection wrote.
    const vehicles = new VehicleService(parts.registry, { ...vehicleOpts, watch: sqliteRegistryWatch(parts.registry) });
    const events = new EventStore(parts.events, { ...eventOpts, writer });
    const sites = new SiteService(parts.sites);
    const drives = new SqlDriveStore(parts.drives);
    let closed = false;
    return {
      kind: 'sqlite',
      vehicles,
      events,
      sites,
      drives,
      fleet: new FleetStateStore(parts.registry),
      enrollments: new EnrollmentService(parts.registry),
      operators: new OperatorStore(parts.registry),
      hqKey: new HqKeyStore(parts.registry),
      parts,
      close: async () => {
        if (closed) return;
        closed = true;
        await writer.close();
        for (const f of files) await f.close();
      },
    };
  } catch (err) {
    await writer.close();
    for (const f of files) await f.close().catch(() => {});
    throw err;
  }
}

/** One store for a CLI command: its SQLite file (null when `mustExist` and it is not there yet) or the PostgreSQL database. */
async function openOne<T>(cfg: Pick<HqConfig, 'state_dir' | 'database'>, sqlite: () => StoreDb | null, make: (s: StoreDb) => T): Promise<{ store: T; close: () => Promise<void> } | null> {
  const s = cfg.database ? await (await import('./postgres.js')).openPostgres(cfg.database, { max: 1 }) : sqlite();
  return s && { store: make(s), close: () => s.close() };
}

/** The switch log (`roamlink log`); SQLite: null while HQ has stored none. */
export function openEventLog(cfg: Pick<HqConfig, 'state_dir' | 'database'>) {
  return openOne(cfg, () => {
    const db = openEventsDb(eventsPath(cfg.state_dir), { mustExist: true });
    return db && sqliteStore(db);
  }, (s) => new EventStore(s));
}

/** The sites (`roamlink site …`). */
export function openSiteStore(cfg: Pick<HqConfig, 'state_dir' | 'database'>) {
  return openOne(cfg, () => sqliteStore(openSitesDb(sitesPath(cfg.state_dir))), (s) => new SiteService(s)) as Promise<{ store: SiteService; close: () => Promise<void> }>;
}

/** The drives (`roamlink drive export`, `site simulate`); SQLite: null while HQ holds none. */
export function openDriveStore(cfg: Pick<HqConfig, 'state_dir' | 'database'>) {
  return openOne(cfg, () => {
    const db = openDrivesDb(drivesPath(cfg.state_dir), { mustExist: true });
    return db && sqliteStore(db);
  }, (s) => new SqlDriveStore(s));
}

/** HQ's key as the registry knows it (`roamlink hq identity adopt`). */
export function openHqKeyStore(cfg: Pick<HqConfig, 'state_dir' | 'database'>) {
  return openOne(cfg, () => sqliteStore(openDb(registryPath(cfg))), (s) => new HqKeyStore(s)) as Promise<{ store: HqKeyStore; close: () => Promise<void> }>;
}

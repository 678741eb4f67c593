// Fleet operations wired into the concentrator: the switch log store, the agents' API on the tunnel address, the
// admin routes on the control socket, the admin HTTP listener (dashboard, /metrics), and the retention job.
import { realClock, type Clock } from '../../shared/clock.js';
import type { FastifyInstance } from 'fastify';
import type { HqConfig } from '../../shared/config/hq.js';
import type { Logger } from '../../shared/log.js';
import { FleetState } from '../agent-api/fleet.js';
import { buildAgentApi } from '../agent-api/app.js';
import { createVehicleLookup } from '../agent-api/identity.js';
import { GroupCommit } from '../agent-api/ingest.js';
import { HqMetrics } from '../metrics/hq.metrics.js';
import type { Db } from '../store/db.js';
import { eventsPath, openEventsDb } from '../store/events/db.js';
import { EventStore } from '../store/events/service.js';
import { openSitesDb, sitesPath } from '../store/sites/db.js';
import { drivesPath, openDrivesDb } from '../store/drives/db.js';
import type { DriveRepository } from '../store/drives/repository.js';
import { SqliteDriveStore } from '../store/drives/service.js';
import { SiteService } from '../store/sites/service.js';
import type { VehicleService } from '../store/vehicles/service.js';
import { LastSwitches } from './fleet-view.js';
import { adminRoutes } from './routes.js';
import { buildAdminHttp, listenAddress } from './http.js';
import { OperatorTable, loadOperators } from './operators.js';
import { InputError } from '../../shared/errors.js';
import { sendError } from '../../shared/http/errors.js';
import { OPERATOR } from './access.js';
import { loadAdminTls } from '../../shared/config/admin-tls.js';

export interface FleetOpsDeps {
  cfg: HqConfig;
  /** The registry (vehicles, sites). */
  db: Db;
  vehicles: VehicleService;
  log: Logger;
  /** The admin API on the control socket, not listening yet: the log, fleet and site routes are added to it. */
  adminApp: FastifyInstance;
  /** HQ's clock (realClock; a SimClock in tests). */
  clock?: Clock;
}

export interface FleetOps {
  readonly events: EventStore;
  readonly metrics: HqMetrics;
  readonly sites: SiteService;
  /** Re-reads admin_operators_file (and admin_token_file); a bad file keeps the table as it was and throws. */
  reloadOperators(): Promise<string[]>;
  readonly drives: DriveRepository;
  /** Stops the listeners and the retention job, closes the switch log. Safe to call twice. */
  close(): Promise<void>;
}

const HOUR = 3_600_000;
/** How often the registered-vehicles gauge re-counts the registry (a CLI change lands within it). */
const REGISTERED_REFRESH_MS = 5_000;
/** listen(2) backlog of the agents' API (the kernel caps it at net.core.somaxconn). */
export const AGENT_API_BACKLOG = 4096;

export async function startFleetOps(d: FleetOpsDeps): Promise<FleetOps> {
  const { cfg, log } = d;
  const clock = d.clock ?? realClock;
  const eventsDb = openEventsDb(eventsPath(cfg.state_dir));
  const events = new EventStore(eventsDb, { now: () => clock.wallNow() });
  const sitesDb = openSitesDb(sitesPath(cfg.state_dir));
  const sites = new SiteService(sitesDb);
  const drives: DriveRepository = new SqliteDriveStore(openDrivesDb(drivesPath(cfg.state_dir))!);
  const fleet = new FleetState({ offlineAfterMs: cfg.offline_after_ms, now: () => clock.wallNow() });
  const lastSwitches = new LastSwitches(events);
  // The gauges are read synchronously at a scrape: the active vehicles are kept here, read at start and every
  // REGISTERED_REFRESH_MS (a `vehicle add` or `revoke` shows within it).
  let active = (await d.vehicles.active()).map((v) => v.name);
  const metrics = new HqMetrics({ fleet, registered: () => active.length, vehicles: () => active });
  const commit = new GroupCommit(events);
  const listeners: FastifyInstance[] = [];
  let retention: NodeJS.Timeout | null = null;
  const recount = setInterval(() => {
    d.vehicles.active().then((a) => (active = a.map((v) => v.name)), (err: Error) => log.warn({ err: err.message }, 'counting the registered vehicles'));
  }, REGISTERED_REFRESH_MS);
  recount.unref();
  let closed = false;

  const close = async () => {
    if (closed) return;
    closed = true;
    if (retention) clearInterval(retention);
    metrics.close();
    clearInterval(recount);
    for (const l of listeners) await l.close().catch((err: Error) => log.warn({ err: err.message }, 'closing a fleet-ops listener'));
    eventsDb.close();
    sitesDb.close();
    await drives.close();
  };

  const operators = new OperatorTable();
  const operatorFiles = { operators: cfg.admin_operators_file, ...(cfg.admin_token_file ? { legacyToken: cfg.admin_token_file } : {}) };
  const reloadOperators = async () => {
    operators.replace(await loadOperators(operatorFiles));
    const names = operators.names();
    log.info({ operators: names }, `admin operators: ${names.length}`);
    if (cfg.admin_listen && !names.length) log.warn({ file: cfg.admin_operators_file }, 'no admin operator: nobody can sign in to the admin listener (roamlink hq operator add NAME)');
    return names;
  };

  try {
    // `roamlink hq operator add|remove` asks for this after changing the file; SIGHUP does it too.
    d.adminApp.post('/v1/operators/reload', OPERATOR, async (_req, reply) => {
      try {
        return { operators: await reloadOperators() };
      } catch (err) {
        if (err instanceof InputError) return sendError(reply, 'INVALID', err.message, err.field);
        throw err;
      }
    });
    d.adminApp.register(adminRoutes({ events, fleet, lastSwitches, vehicles: d.vehicles, sites, drives, origin: 'admin socket' }));

    const agentApi = buildAgentApi({
      identify: createVehicleLookup(d.db),
      ingest: async (batch) => {
        const r = await commit.submit(batch);
        lastSwitches.update(r.inserted);
        for (const e of r.inserted) log.debug({ event: 'switch.stored', id: e.id, vehicle: e.vehicle, seq: e.seq, from: e.from, to: e.to, reason: e.reason }, `${e.vehicle}: ${e.from ?? '-'} -> ${e.to} (${e.reason})`);
        return r;
      },
      fleet,
      metrics,
      drives,
      sites: () => sites.set(),
      sitesVersion: () => sites.version(),
      logger: log,
      clock,
    });
    listeners.push(agentApi);
    // A deep accept queue: after an HQ restart the whole fleet reconnects at once (Node's default 511 overflowed in bench/hq).
    await agentApi.listen({ host: cfg.tunnel_address, port: cfg.agent_api_port, backlog: AGENT_API_BACKLOG });
    log.info({ address: cfg.tunnel_address, port: cfg.agent_api_port }, 'agent API listening (inside the tunnel)');

    if (cfg.admin_listen) {
      await reloadOperators();
      const tls = cfg.admin_tls ? await loadAdminTls(cfg.admin_tls) : undefined;
      if (tls && tls.validTo.getTime() < Date.now()) log.warn({ cert: cfg.admin_tls!.cert, valid_to: tls.validTo.toISOString() }, 'the admin certificate has expired: browsers and clients will refuse it');
      const adminHttp = buildAdminHttp({ operators, tls, metrics, events, fleet, lastSwitches, vehicles: d.vehicles, sites, drives, origin: 'dashboard', logger: log });
      listeners.push(adminHttp);
      await adminHttp.listen(listenAddress(cfg.admin_listen));
      log.info({ listen: cfg.admin_listen, scheme: tls ? 'https' : 'http', ...(tls ? { sha256: tls.fingerprint256 } : {}) }, `admin ${tls ? 'HTTPS' : 'HTTP (loopback only)'} (dashboard, API, /metrics) listening`);
    }

    const prune = async () => {
      const before = clock.wallNow() - cfg.log_retention_days * 24 * HOUR;
      const n = await events.prune(before);
      if (n) log.info({ pruned: n, before: new Date(before).toISOString() }, 'switch log retention');
      const dBefore = clock.wallNow() - cfg.drive_retention_days * 24 * HOUR;
      const d = await drives.prune(dBefore);
      if (d) log.info({ pruned_segments: d, before: new Date(dBefore).toISOString() }, 'drive retention');
    };
    const pruneLogged = () =>
      prune().catch((err: Error) => {
        log.error({ err: err.message }, 'switch log retention failed');
      });
    retention = setInterval(() => void pruneLogged(), HOUR);
    retention.unref();
    setImmediate(() => {
      if (!closed) void pruneLogged();
    });
    return { events, metrics, sites, drives, reloadOperators, close };
  } catch (err) {
    await close();
    throw err;
  }
}

// Fleet operations wired into the concentrator: the switch log store, the agents' API on the tunnel address, the
// admin routes on the control socket, the admin HTTP listener (dashboard, /metrics), and the retention job.
import { realClock, type Clock } from '../../shared/clock.js';
import type { FastifyInstance } from 'fastify';
import type { HqConfig } from '../../shared/config/hq.js';
import type { Logger } from '../../shared/log.js';
import { FleetState } from '../agent-api/fleet.js';
import { buildAgentApi } from '../agent-api/app.js';
import { GroupCommit } from '../agent-api/ingest.js';
import { HqMetrics } from '../metrics/hq.metrics.js';
import type { EventStore, IngestResult } from '../store/events/service.js';
import type { DriveRepository } from '../store/drives/repository.js';
import type { SiteService } from '../store/sites/service.js';
import type { Stores } from '../store/stores.js';
import { LastSwitches } from './fleet-view.js';
import { adminRoutes } from './routes.js';
import { buildAdminHttp, listenAddress } from './http.js';
import { OperatorTable, loadOperators, type Operator } from './operators.js';
import { adoptOperatorsFile, adoptedPath } from '../store/operators/service.js';
import { InputError } from '../../shared/errors.js';
import { sendError } from '../../shared/http/errors.js';
import { OPERATOR } from './access.js';
import { loadAdminTls } from '../../shared/config/admin-tls.js';
import { enrollTarget } from '../enroll/issue.js';

export interface FleetOpsDeps {
  cfg: HqConfig;
  /** The registry, switch log, sites and drives (opened and closed by the caller). */
  stores: Stores;
  log: Logger;
  /** The admin API on the control socket, not listening yet: the log, fleet and site routes are added to it. */
  adminApp: FastifyInstance;
  /** HQ's clock (realClock; a SimClock in tests). */
  clock?: Clock;
  /** Programs the registry now (the daemon's reconcile), after a vehicle is added or revoked through the admin API. */
  reconcile?: () => void;
  /** How often the registered vehicles and the operators are read again (default REGISTERED_REFRESH_MS; tests: less). */
  refreshMs?: number;
}

export interface FleetOps {
  readonly events: EventStore;
  readonly metrics: HqMetrics;
  readonly sites: SiteService;
  /** Re-reads the operators from the store (adopting an old admin_operators_file first) and admin_token_file; a bad
   *  file or an unreachable store keeps the table as it was and throws. */
  reloadOperators(): Promise<string[]>;
  readonly drives: DriveRepository;
  /** Stops the listeners and the retention job (the stores are closed by whoever opened them). Safe to call twice. */
  close(): Promise<void>;
}

const HOUR = 3_600_000;
/** How often the vehicles heard from are written to the store (a restart loses at most this much of it). */
const FLEET_SAVE_MS = 5_000;
/** How often the registered-vehicles gauge re-counts the registry (a CLI change lands within it), and the operators are
 *  read again (a `roamlink hq operator add|remove` on the other concentrator lands within it). */
const REGISTERED_REFRESH_MS = 5_000;
/** listen(2) backlog of the agents' API (the kernel caps it at net.core.somaxconn). */
export const AGENT_API_BACKLOG = 4096;

export async function startFleetOps(d: FleetOpsDeps): Promise<FleetOps> {
  const { cfg, log } = d;
  const clock = d.clock ?? realClock;
  const { events, sites, drives, vehicles } = d.stores;
  const fleet = new FleetState({ offlineAfterMs: cfg.offline_after_ms, now: () => clock.wallNow() });
  // The fleet as the store last had it (a restart, or the other concentrator's heartbeats), kept there every FLEET_SAVE_MS.
  for (const s of await d.stores.fleet.load()) fleet.restore(s);
  const saveFleet = async () => {
    const names = fleet.takeDirty();
    const snaps = names.flatMap((v) => fleet.snapshot(v) ?? []);
    if (snaps.length) await d.stores.fleet.save(snaps).catch((err: unknown) => (fleet.requeue(names), Promise.reject(err)));
  };
  const fleetSaver = setInterval(() => {
    saveFleet().catch((err: Error) => log.warn({ err: err.message }, 'the fleet state was not saved (kept for the next try)'));
  }, FLEET_SAVE_MS);
  fleetSaver.unref();
  const lastSwitches = new LastSwitches(events);
  // The gauges are read synchronously at a scrape: the active vehicles are kept here, read at start and every
  // REGISTERED_REFRESH_MS (a `vehicle add` or `revoke` shows within it).
  let active = (await vehicles.active()).map((v) => v.name);
  const metrics = new HqMetrics({ fleet, registered: () => active.length, vehicles: () => active });
  const commit = new GroupCommit(events);
  const listeners: FastifyInstance[] = [];
  let retention: NodeJS.Timeout | null = null;
  // A vehicle revoked (here or by the CLI) leaves the live fleet too: it sends no more heartbeats, and its state must
  // not be written back to the store it was deleted from.
  const recountNow = () =>
    vehicles.active().then(
      (a) => {
        active = a.map((v) => v.name);
        const keep = new Set(active);
        for (const n of fleet.names()) if (!keep.has(n)) fleet.forget(n);
      },
      (err: Error) => log.warn({ err: err.message }, 'counting the registered vehicles'),
    );
  const recount = setInterval(() => {
    void recountNow();
    if (cfg.admin_listen && operatorsSeen) void refreshOperators();
  }, d.refreshMs ?? REGISTERED_REFRESH_MS);
  recount.unref();
  let closed = false;

  const close = async () => {
    if (closed) return;
    closed = true;
    if (retention) clearInterval(retention);
    metrics.close();
    clearInterval(recount);
    clearInterval(fleetSaver);
    for (const l of listeners) await l.close().catch((err: Error) => log.warn({ err: err.message }, 'closing a fleet-ops listener'));
    // Batches answered 202 and still queued are committed before the store closes (not needed for safety: their agents
    // would ship them again, but it spares the resend).
    await commit.flush().catch((err: Error) => log.warn({ err: err.message }, 'the last switch events queued were not committed at stop (their agents ship them again)'));
    await saveFleet().catch((err: Error) => log.warn({ err: err.message }, 'the fleet state was not saved at stop'));
  };

  const operators = new OperatorTable();
  // What the table was made from (names and hashes): the periodic read logs and replaces only when it changed.
  let operatorsSeen = '';
  const loadTable = async (): Promise<Operator[]> => {
    const a = await adoptOperatorsFile(d.stores.operators, cfg.admin_operators_file);
    if (a) log.info({ file: cfg.admin_operators_file, adopted: a.adopted, kept: a.kept }, `admin operators file moved into the store (${a.adopted.length} adopted, ${a.kept.length} known there already); kept as ${adoptedPath(cfg.admin_operators_file)}`);
    return loadOperators({ stored: await d.stores.operators.active(), ...(cfg.admin_token_file ? { legacyToken: cfg.admin_token_file } : {}) });
  };
  const reloadOperators = async () => {
    const ops = await loadTable();
    operators.replace(ops);
    operatorsSeen = JSON.stringify(ops);
    const names = operators.names();
    log.info({ operators: names }, `admin operators: ${names.length}`);
    if (cfg.admin_listen && !names.length) log.warn('no admin operator: nobody can sign in to the admin listener (roamlink hq operator add NAME)');
    return names;
  };
  // The other concentrator's changes (same store): read with the registered-vehicles count; a failure keeps the table.
  const refreshOperators = () =>
    loadTable().then(
      (ops) => {
        if (JSON.stringify(ops) === operatorsSeen) return;
        operators.replace(ops);
        operatorsSeen = JSON.stringify(ops);
        log.info({ operators: operators.names() }, `admin operators changed in the store: ${operators.names().length}`);
      },
      (err: Error) => log.warn({ err: err.message }, 'admin operators not read again (the table in force stays)'),
    );

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
    const registry = {
      vehicles,
      enrollments: d.stores.enrollments,
      enrollTarget: () => enrollTarget(cfg),
      changed: () => {
        d.reconcile?.();
        void recountNow();
      },
    };
    d.adminApp.register(adminRoutes({ events, fleet, lastSwitches, vehicles: vehicles, sites, drives, registry, origin: 'admin socket', timer: clock }));

    const stored = (r: IngestResult) => {
      lastSwitches.update(r.inserted);
      for (const e of r.inserted) log.debug({ event: 'switch.stored', id: e.id, vehicle: e.vehicle, seq: e.seq, from: e.from, to: e.to, reason: e.reason }, `${e.vehicle}: ${e.from ?? '-'} -> ${e.to} (${e.reason})`);
      return r;
    };
    const agentApi = buildAgentApi({
      identify: (address) => vehicles.byAddress(address),
      ingest: async (batch) => stored(await commit.submit(batch)),
      durability: {
        accept: (batch) => {
          const a = commit.accept(batch);
          return a && { ...a, committed: a.committed.then(stored) };
        },
        mark: () => commit.mark(),
        untilDurable: (want, signal) => commit.untilDurable(want, signal),
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
      const adminHttp = buildAdminHttp({ operators, tls, metrics, events, fleet, lastSwitches, vehicles: vehicles, sites, drives, registry, origin: 'dashboard', logger: log, timer: clock });
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

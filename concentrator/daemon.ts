// The concentrator daemon's composition root: probe echo, WireGuard interface adopted or created, agents' API, reconcile, admin API.
import { ensureEcho, stopEcho } from './echo.js';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { readPrivateKeyFile, type HqConfig } from '../shared/config/hq.js';
import type { Logger } from '../shared/log.js';
import { createWg, publicKeyOf, type CreatedInterface, type WgDriver } from '../shared/wg.js';
import { build } from './app.js';
import { createRoutes, type RoutesDriver } from './routes.js';
import { desiredFromVehicles, planInterface } from './reconcile/diff.js';
import { pokePeers } from './reconcile/poke.js';
import { EndpointStore, endpointsPath, mergeEndpoints } from './store/endpoints/service.js';
import { Reconciler, type ReconcileResult } from './reconcile/reconciler.js';
import { ReconcileLoop } from './reconcile/loop.js';
import { openStores, type Stores } from './store/stores.js';
import { redactSecret } from './store/sql.js';
import { startFleetOps, type FleetOps } from './admin/fleet-ops.js';
import { realClock } from '../shared/clock.js';
import { applyHqFirewall, hqFirewallSpec } from './firewall/hq.nft.js';
import { markStartup, startupMarks } from '../shared/startup.js';

export interface HqDeps {
  log: Logger;
  wg?: WgDriver;
  routes?: RoutesDriver;
}

export interface HqHandle {
  readonly publicKey: string;
  readonly iface: CreatedInterface;
  reconcile(): Promise<ReconcileResult>;
  /** Re-reads the admin operators (SIGHUP); a bad file keeps the old table and throws. */
  reloadOperators(): Promise<string[]>;
  /**
   * Stops serving and closes the stores. The data plane (interface, its key and port, peers with their sessions,
   * routes) stays in the kernel for the next start to adopt, unless `teardown` (a stop for good): then the interface
   * goes, and its peers and routes with it. Safe to call twice.
   */
  close(opts?: { teardown?: boolean }): Promise<void>;
}

/** How often the live endpoints are compared with the stored ones (written only when one changed). */
export const ENDPOINT_SAVE_MS = 2000;

// The registry's opening lives in a light module the CLI loads without fastify; re-exported for callers of this one.
export { keysDir, openVehicles, registryPath } from './store/vehicles/open.js';

/** The probe echo's pidfile: beside the control socket, in the runtime directory (a reboot clears it). */
export function echoPidfile(cfg: HqConfig): string {
  return join(dirname(cfg.control_socket), 'hq-probe-echo.pid');
}

/** Resolves true when something accepts connections on the unix socket `path`. */
function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Whether `ifname` carries `address` now (read in-process: no `ip` to run). */
function hasAddress(ifname: string, address: string): boolean {
  return (networkInterfaces()[ifname] ?? []).some((a) => a.family === 'IPv4' && a.address === address);
}

export async function startHq(cfg: HqConfig, deps: HqDeps): Promise<HqHandle> {
  const { log } = deps;
  const wg = deps.wg ?? createWg();
  const routes = deps.routes ?? createRoutes();
  const ifname = cfg.interface;
  const t0 = realClock.now();
  const since = () => Math.round(realClock.now() - t0);

  if (await socketAlive(cfg.control_socket)) throw new Error(`a concentrator is already running on ${cfg.control_socket}`);

  let iface: CreatedInterface | null = null;
  let app: FastifyInstance | null = null;
  let ops: FleetOps | null = null; // switch log, agents' API, sites, dashboard, metrics
  let stores: Stores | null = null;
  let enrollment: { close(): Promise<void> } | null = null; // enroll_listen
  let keeper: NodeJS.Timeout | null = null;
  let loop: ReconcileLoop | null = null;
  let saveEndpoints: () => Promise<void> = async () => {};
  /** PostgreSQL: the registry changed (the other concentrator's change included): a pass now, once the loop runs. */
  let registryChanged: () => void = () => {};
  let closed = false;
  const close = async (opts: { teardown?: boolean } = {}) => {
    if (closed) return;
    closed = true;
    loop?.stop();
    await enrollment?.close();
    if (keeper) clearInterval(keeper);
    if (app) await app.close().catch((err: Error) => log.warn({ err: err.message }, 'closing the admin API'));
    rmSync(cfg.control_socket, { force: true });
    await ops?.close();
    if (opts.teardown) {
      stopEcho(echoPidfile(cfg));
      await wg.deleteInterface(ifname).catch((err: Error) => log.warn({ err: err.message }, `deleting ${ifname}`));
      log.info({ interface: ifname }, 'stopped for good: interface deleted, with its peers and routes');
    } else if (iface) {
      await saveEndpoints();
      log.info({ interface: ifname }, 'interface, peers, routes and probe echo left in place for the next start to adopt');
    }
    await stores?.close();
  };

  try {
    // The stores first: a database that cannot be reached or is not ours is an error before anything is changed.
    const privateKey = await readPrivateKeyFile(cfg.private_key_file);
    const publicKey = publicKeyOf(privateKey);
    stores = await openStores(cfg, {
      hqPublicKey: publicKey,
      onIdleError: (err) => log.warn({ err: redactSecret(err.message, cfg.database) }, 'a database connection broke while idle (the next query reconnects)'),
      onRegistryChange: () => registryChanged(),
      onWatchError: (err) => log.warn({ err: redactSecret(err.message, cfg.database) }, 'the registry\'s change feed is down: the agents\' API looks each caller up in the database until it is back'),
    });
    // The vehicles know one HQ key: a start with another (a second HQ without the identity imported, a regenerated
    // key) is refused here, before the interface is touched.
    if ((await stores.hqKey.check(publicKey, hostname())).recorded) log.info({ public_key: publicKey }, 'HQ\'s key recorded in the registry: a concentrator with another will not start on it');
    markStartup('store');
    const { vehicles } = stores;
    log.info({ store: stores.kind }, `store: ${stores.kind === 'postgres' ? 'PostgreSQL' : `SQLite in ${cfg.state_dir}`}`);
    // Adopt the interface a previous run left (its peers keep their sessions), or create it (after a reboot).
    iface = await wg.createInterface(ifname);
    // The agents probe us on every uplink and judge a restart by the answers. The echo is a process of its own that
    // outlives the daemon (concentrator/echo.ts): adopted with the tunnels, it never stopped answering. With a new
    // interface it starts only once the peers are back: an echo while the vehicle's tunnel is still dead tells its
    // agent that the active path alone is broken, and it moves for nothing.
    mkdirSync(dirname(cfg.control_socket), { recursive: true, mode: 0o755 });
    let echo = iface.created ? null : await ensureEcho(cfg.probe_port, echoPidfile(cfg), { holding: cfg.vrrp_address });

    // Where each vehicle was last heard: given to peers that have to be added (a fresh interface), then kept up to date.
    const endpointStore = new EndpointStore(endpointsPath(cfg.state_dir), (msg) => log.warn(msg));
    let endpoints = endpointStore.load();
    const reconciler = new Reconciler({ ifname, wg, routes, log, desired: async () => desiredFromVehicles(await vehicles.active(), endpoints) });
    saveEndpoints = async () => {
      try {
        const m = mergeEndpoints(endpoints, (await wg.show(ifname)).peers);
        if (m.changed) endpointStore.save(m.next);
        endpoints = m.next;
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'cannot save the peers\' endpoints');
      }
    };

    const implementation = iface.implementation;
    app = build({
      vehicles,
      reconcile: () => reconciler.reconcile(),
      lastReconcile: () => reconciler.last,
      health: () => ({ interface: ifname, implementation, public_key: publicKey, tunnel_address: cfg.tunnel_address, listen_port: cfg.listen_port }),
      peers: async () => (await wg.show(ifname)).peers,
      logger: log,
    });
    // The agents' API (inside the tunnel) as soon as its stores are open: on an adopted interface that still has its
    // address the tunnels never stopped, and the agents should not wait for the checks below (a process each).
    const startOps = async () => {
      ops = await startFleetOps({ cfg, stores: stores!, log, adminApp: app!, reconcile: () => void reconciler.reconcile().catch((err: Error) => log.warn({ err: err.message }, 'reconcile after a registry change')) });
      markStartup('api');
      log.info({ ms: since(), startup: startupMarks() }, 'agents\' API answering');
    };
    if (!iface.created && hasAddress(ifname, cfg.tunnel_address)) await startOps();

    const before = iface.created ? null : (await wg.show(ifname)).interface;
    for (const c of planInterface(before, { publicKey, listenPort: cfg.listen_port })) {
      if (c.kind === 'key.set') await wg.setPrivateKey(ifname, privateKey);
      else await wg.setListenPort(ifname, c.port);
    }
    const prefix = cfg.tunnel_network.split('/')[1];
    await routes.addressUp(ifname, `${cfg.tunnel_address}/${prefix}`);
    log.info({ interface: ifname, implementation: iface.implementation, created: iface.created, ms: since() }, iface.created ? 'interface created' : 'interface adopted');
    if (cfg.firewall.enabled) {
      const f = hqFirewallSpec(cfg);
      await applyHqFirewall(f);
      log.info({ table: 'inet roamlink_hq', vehicle_to: f.vehicleTo, vehicle_to_vehicle: f.vehicleToVehicle, ...(f.enroll ? { enroll_from: f.enroll.from, enroll_through_tunnel: f.enroll.throughTunnel } : {}) }, 'firewall applied');
    }
    if (!ops) await startOps();

    const r = await reconciler.reconcile();
    loop = new ReconcileLoop({ reconcile: () => reconciler.reconcile(), intervalMs: cfg.reconcile_interval_ms, timer: realClock, log });
    loop.start(r);
    // A vehicle added or revoked through the other concentrator (or the CLI) is programmed here at once, not at the next
    // periodic pass (the Reconciler runs one pass at a time and queues one more, so a burst of changes is a pass or two).
    registryChanged = () => void loop?.now().catch((err: Error) => log.warn({ err: err.message }, 'reconcile after a registry change'));
    // Peers added with a stored endpoint: HQ sends first, so their tunnels are back without waiting for the vehicles.
    const byKey = new Map((await vehicles.active()).map((v) => [v.public_key, v.tunnel_address]));
    const poke = r.changes.flatMap((a) => (a.ok && a.change.kind === 'peer.set' && a.change.endpoint !== undefined ? [byKey.get(a.change.publicKey)] : [])).filter((x): x is string => x !== undefined);
    if (poke.length) log.info({ peers: await pokePeers(poke), ms: since() }, 'handshakes started with peers at their stored endpoints');
    echo ??= await ensureEcho(cfg.probe_port, echoPidfile(cfg), { holding: cfg.vrrp_address });
    log.info({ pid: echo.pid, adopted: echo.adopted, port: cfg.probe_port, ms: since() }, echo.adopted ? 'probe echo adopted' : 'probe echo started');
    keeper = setInterval(() => void saveEndpoints(), ENDPOINT_SAVE_MS);
    keeper.unref();

    if (cfg.enroll_listen) {
      const { startEnrollment } = await import('./enroll/start.js');
      enrollment = await startEnrollment(cfg, { publicKey, vehicles, enrollments: stores.enrollments, log, onEnrolled: () => void reconciler.reconcile() });
    }

    rmSync(cfg.control_socket, { force: true }); // stale: nothing answered on it above
    await app.listen({ path: cfg.control_socket });
    chmodSync(cfg.control_socket, 0o600);
    // Once more now that the socket listens (the loop's pass at once): a `vehicle add` or `revoke` made while this start
    // ran found no socket to tell (it says so), and the pass above may have read the registry before it.
    await loop.now();
    markStartup('ready');
    log.info({ socket: cfg.control_socket, public_key: publicKey, listen_port: cfg.listen_port, ms: since(), startup: startupMarks() }, 'concentrator ready');
    const fleetOps = ops!; // started above, before the socket listens
    return { publicKey, iface, reconcile: () => reconciler.reconcile(), reloadOperators: () => fleetOps.reloadOperators(), close };
  } catch (err) {
    await close();
    throw err;
  }
}

// The concentrator daemon's composition root: WireGuard interface up, registry open, reconcile, admin API on the socket.
import type { Socket } from 'node:dgram';
import { startProbeResponder } from './probe.responder.js';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { readPrivateKeyFile, type HqConfig } from '../shared/config/hq.js';
import type { Logger } from '../shared/log.js';
import { createWg, type CreatedInterface, type WgDriver } from '../shared/wg.js';
import { build } from './app.js';
import { createRoutes, type RoutesDriver } from './routes.js';
import { desiredFromVehicles } from './reconcile/diff.js';
import { Reconciler, type ReconcileResult } from './reconcile/reconciler.js';
import { ReconcileLoop } from './reconcile/loop.js';
import { openVehicles } from './store/vehicles/open.js';
import { startFleetOps, type FleetOps } from './admin/fleet-ops.js';
import { realTimer } from './reconcile/timer.js';
import { applyHqFirewall } from './firewall/hq.nft.js';

export interface HqDeps {
  log: Logger;
  wg?: WgDriver;
  routes?: RoutesDriver;
}

export interface HqHandle {
  readonly publicKey: string;
  readonly iface: CreatedInterface;
  reconcile(): Promise<ReconcileResult>;
  /** Stops serving, deletes the interface if this daemon created it, closes the registry. Safe to call twice. */
  close(): Promise<void>;
}

// The registry's opening lives in a light module the CLI loads without fastify; re-exported for callers of this one.
export { keysDir, openVehicles, registryPath } from './store/vehicles/open.js';

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

export async function startHq(cfg: HqConfig, deps: HqDeps): Promise<HqHandle> {
  const { log } = deps;
  const wg = deps.wg ?? createWg();
  const routes = deps.routes ?? createRoutes();
  const ifname = cfg.interface;

  if (await socketAlive(cfg.control_socket)) throw new Error(`a concentrator is already running on ${cfg.control_socket}`);
  const privateKey = await readPrivateKeyFile(cfg.private_key_file);
  const publicKey = await wg.pubKey(privateKey);
  const { db, vehicles } = openVehicles(cfg, publicKey);

  let iface: CreatedInterface | null = null;
  let app: FastifyInstance | null = null;
  let prober: Socket | null = null;
  let ops: FleetOps | null = null; // switch log, agents' API, sites, dashboard, metrics
  let loop: ReconcileLoop | null = null;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    loop?.stop();
    if (app) await app.close().catch((err: Error) => log.warn({ err: err.message }, 'closing the admin API'));
    prober?.close();
    rmSync(cfg.control_socket, { force: true });
    await ops?.close();
    if (iface?.created) {
      await wg.deleteInterface(ifname).catch((err: Error) => log.warn({ err: err.message }, `deleting ${ifname}`));
      log.info({ interface: ifname }, 'interface deleted');
    }
    db.close();
  };

  try {
    iface = await wg.createInterface(ifname);
    log.info({ interface: ifname, implementation: iface.implementation, created: iface.created }, 'interface ready');
    await wg.setPrivateKey(ifname, privateKey);
    await wg.setListenPort(ifname, cfg.listen_port);
    const prefix = cfg.tunnel_network.split('/')[1];
    await routes.addressUp(ifname, `${cfg.tunnel_address}/${prefix}`);
    if (cfg.firewall.enabled) {
      const f = cfg.firewall;
      await applyHqFirewall({ ifname, tunnelAddress: cfg.tunnel_address, agentApiPort: cfg.agent_api_port, probePort: cfg.probe_port, vehicleTo: f.vehicle_to ?? cfg.lan_subnets, vehicleToVehicle: f.vehicle_to_vehicle });
      log.info({ table: 'inet roamlink_hq', vehicle_to: f.vehicle_to ?? cfg.lan_subnets, vehicle_to_vehicle: f.vehicle_to_vehicle }, 'firewall applied');
    }

    const reconciler = new Reconciler({ ifname, wg, routes, log, desired: () => desiredFromVehicles(vehicles.active()) });
    const first = await reconciler.reconcile();
    loop = new ReconcileLoop({ reconcile: () => reconciler.reconcile(), intervalMs: cfg.reconcile_interval_ms, timer: realTimer, log });
    loop.start(first);

    // Agents probe us through each uplink (outer address) and through the tunnel: echo them.
    prober = await startProbeResponder(cfg.probe_port);

    const implementation = iface.implementation;
    app = build({
      vehicles,
      reconcile: () => reconciler.reconcile(),
      lastReconcile: () => reconciler.last,
      health: () => ({ interface: ifname, implementation, public_key: publicKey, tunnel_address: cfg.tunnel_address, listen_port: cfg.listen_port }),
      peers: async () => (await wg.show(ifname)).peers,
      logger: log,
    });
    ops = await startFleetOps({ cfg, db, vehicles, log, adminApp: app });
    mkdirSync(dirname(cfg.control_socket), { recursive: true, mode: 0o755 });
    rmSync(cfg.control_socket, { force: true }); // stale: nothing answered on it above
    await app.listen({ path: cfg.control_socket });
    chmodSync(cfg.control_socket, 0o600);
    log.info({ socket: cfg.control_socket, public_key: publicKey, listen_port: cfg.listen_port }, 'concentrator ready');
    return { publicKey, iface, reconcile: () => reconciler.reconcile(), close };
  } catch (err) {
    await close();
    throw err;
  }
}

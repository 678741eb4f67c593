// The concentrator's admin API (on the control socket): a fastify app built by build(opts), testable with app.inject();
// errors from the one table (shared/http/errors.ts), every route declaring operator access (admin/access.ts).
import Fastify, { LogController, type FastifyInstance, type FastifyBaseLogger } from 'fastify';
import type { Logger } from '../shared/log.js';
import type { WgPeerStatus } from '../shared/wg.js';
import type { ReconcileResult } from './reconcile/reconciler.js';
import type { Vehicle } from './store/vehicles/schema.js';
import { errorBody, installErrorHandling, sendError } from '../shared/http/errors.js';
import { installAccessGuard, OPERATOR } from './admin/access.js';

export interface Health {
  interface: string;
  implementation: string;
  public_key: string;
  tunnel_address: string;
  listen_port: number;
}

/** Live WireGuard state of one vehicle's peer, as the API shows it. */
export interface PeerView {
  endpoint: string | null;
  latest_handshake: string | null;
  rx_bytes: number;
  tx_bytes: number;
}

export interface AppOptions {
  vehicles: { list(): Promise<Vehicle[]>; get(name: string): Promise<Vehicle | null>; active(): Promise<Vehicle[]> };
  reconcile: () => Promise<ReconcileResult>;
  lastReconcile: () => ReconcileResult | null;
  /** Static facts about this concentrator. */
  health: () => Health;
  /** Live peers (wg show); the API leaves `peer` out when this is absent or fails. */
  peers?: () => Promise<WgPeerStatus[]>;
  logger?: Logger;
}

export function peerView(p: WgPeerStatus): PeerView {
  return {
    endpoint: p.endpoint,
    latest_handshake: p.latestHandshake === null ? null : new Date(p.latestHandshake * 1000).toISOString(),
    rx_bytes: p.rxBytes,
    tx_bytes: p.txBytes,
  };
}

export function build(opts: AppOptions): FastifyInstance {
  const app = opts.logger
    ? Fastify({ loggerInstance: opts.logger as unknown as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) })
    : Fastify({ logger: false });

  const livePeers = async (): Promise<Map<string, WgPeerStatus> | null> => {
    if (!opts.peers) return null;
    try {
      return new Map((await opts.peers()).map((p) => [p.publicKey, p]));
    } catch {
      return null;
    }
  };
  const withPeer = (v: Vehicle, live: Map<string, WgPeerStatus> | null) => {
    const p = live?.get(v.public_key);
    return p && v.revoked_at === null ? { ...v, peer: peerView(p) } : { ...v };
  };

  installErrorHandling(app, { log: app.log, surface: 'admin API' });
  // The socket is the credential (mode 0600, the daemon's user): every caller is an operator, named '' in the audit.
  installAccessGuard(app, () => '');

  app.get('/v1/health', OPERATOR, async () => {
    const last = opts.lastReconcile();
    return {
      ok: last?.ok ?? false,
      ...opts.health(),
      vehicles_active: (await opts.vehicles.active()).length,
      last_reconcile: last && { at: last.at, ok: last.ok, changes: last.changes.length, error: last.error ?? null },
    };
  });

  app.get('/v1/vehicles', OPERATOR, async () => {
    const live = await livePeers();
    return { vehicles: (await opts.vehicles.list()).map((v) => withPeer(v, live)) };
  });

  app.get<{ Params: { name: string } }>('/v1/vehicles/:name', OPERATOR, async (req, reply) => {
    const v = await opts.vehicles.get(req.params.name);
    if (!v) return sendError(reply, 'VEHICLE_NOT_FOUND', `no vehicle "${req.params.name}"`);
    return withPeer(v, await livePeers());
  });

  app.post('/v1/reconcile', OPERATOR, async (_req, reply) => {
    const r = await opts.reconcile();
    if (!r.ok) return reply.code(500).send({ ...errorBody('RECONCILE_FAILED', r.error ?? 'some changes failed'), result: r });
    return r;
  });

  return app;
}

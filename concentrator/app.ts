// The concentrator's admin API (on the control socket): a fastify app built by build(opts), testable with app.inject().
import Fastify, { LogController, type FastifyInstance, type FastifyBaseLogger } from 'fastify';
import type { Logger } from '../shared/log.js';
import type { WgPeerStatus } from '../shared/wg.js';
import type { ReconcileResult } from './reconcile/reconciler.js';
import type { Vehicle } from './store/vehicles/schema.js';

/** Every error the API answers with: `{ error: { code, message } }` and this status. */
export const API_ERRORS = {
  /** No vehicle of that name, ever. */
  VEHICLE_NOT_FOUND: 404,
  /** No such route in the API. */
  NOT_FOUND: 404,
  /** A request the API cannot read (bad JSON, wrong parameter). */
  BAD_REQUEST: 400,
  /** The reconcile pass could not read the current state or some change failed; the body has the details. */
  RECONCILE_FAILED: 500,
  /** Anything unexpected. */
  INTERNAL: 500,
} as const;
export type ApiErrorCode = keyof typeof API_ERRORS;

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
  vehicles: { list(): Vehicle[]; get(name: string): Vehicle | null; active(): Vehicle[] };
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

function apiError(code: ApiErrorCode, message: string) {
  return { error: { code, message } };
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

  app.setNotFoundHandler((req, reply) => reply.code(404).send(apiError('NOT_FOUND', `no route ${req.method} ${req.url}`)));
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return reply.code(400).send(apiError('BAD_REQUEST', err.message));
    app.log.error({ err: err.message }, 'admin API error');
    return reply.code(500).send(apiError('INTERNAL', err.message));
  });

  app.get('/v1/health', async () => {
    const last = opts.lastReconcile();
    return {
      ok: last?.ok ?? false,
      ...opts.health(),
      vehicles_active: opts.vehicles.active().length,
      last_reconcile: last && { at: last.at, ok: last.ok, changes: last.changes.length, error: last.error ?? null },
    };
  });

  app.get('/v1/vehicles', async () => {
    const live = await livePeers();
    return { vehicles: opts.vehicles.list().map((v) => withPeer(v, live)) };
  });

  app.get<{ Params: { name: string } }>('/v1/vehicles/:name', async (req, reply) => {
    const v = opts.vehicles.get(req.params.name);
    if (!v) return reply.code(404).send(apiError('VEHICLE_NOT_FOUND', `no vehicle "${req.params.name}"`));
    return withPeer(v, await livePeers());
  });

  app.post('/v1/reconcile', async (_req, reply) => {
    const r = await opts.reconcile();
    if (!r.ok) return reply.code(500).send({ ...apiError('RECONCILE_FAILED', r.error ?? 'some changes failed'), result: r });
    return r;
  });

  return app;
}

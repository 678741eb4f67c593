// The admin HTTP listener on TCP (admin_listen): the dashboard's static pages, the JSON API (log, fleet, sites) and
// /metrics, all but the static files behind the bearer token, decided on the matched route (access.ts).
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../../shared/log.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../shared/wire/prometheus.js';
import { loadDashboard, type Asset } from '../dashboard/assets.js';
import { adminRoutes, type AdminRoutesDeps } from './routes.js';
import { installAccessGuard, OPERATOR, PUBLIC } from './access.js';
import { installErrorHandling } from '../../shared/http/errors.js';
import { isStoreUnavailable } from '../store/sql.js';

export interface AdminHttpOptions extends AdminRoutesDeps {
  /** Who a bearer token belongs to (operators.ts OperatorTable). */
  operators: { authenticate(authorization: string | undefined): string | null };
  /** HTTPS with this certificate and key; plain HTTP without (hq config allows that only on loopback). */
  tls?: { cert: string; key: string };
  metrics: { render(): string };
  /** The dashboard's files (default: read from concentrator/dashboard/static). */
  dashboard?: Map<string, Asset>;
  logger?: Logger;
}

/** The pages only load what they ship with, and never run in a frame. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export function buildAdminHttp(o: AdminHttpOptions): FastifyInstance {
  const https = o.tls ? { https: { cert: o.tls.cert, key: o.tls.key, minVersion: 'TLSv1.2' as const } } : {};
  const app = (o.logger
    ? Fastify({ ...https, loggerInstance: o.logger as unknown as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) })
    : Fastify({ ...https, logger: false })) as unknown as FastifyInstance;
  const files = o.dashboard ?? loadDashboard();

  installErrorHandling(app, { log: app.log, surface: 'admin HTTP', unavailable: isStoreUnavailable });
  installAccessGuard(app, (req) => o.operators.authenticate(req.headers.authorization));

  for (const [path, asset] of files) {
    app.get(path, PUBLIC, async (_req, reply) => reply.headers({ ...PAGE_HEADERS, 'content-type': asset.type, 'cache-control': 'no-cache' }).send(asset.body));
  }

  /** Who this token signs in as (the dashboard shows it; the audit records it). */
  app.get('/v1/whoami', OPERATOR, async (req) => ({ operator: req.operator }));
  app.get('/metrics', OPERATOR, async (_req, reply) => reply.header('content-type', PROMETHEUS_CONTENT_TYPE).send(o.metrics.render()));

  app.register(adminRoutes(o));
  return app;
}

/** host:port (IPv6 in brackets) to listen options. */
export function listenAddress(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  return { host: text.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(text.slice(i + 1)) };
}

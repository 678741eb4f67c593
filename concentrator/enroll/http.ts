// The enrollment listener (enroll_listen): HTTPS with the admin certificate, one route, POST /v1/enroll, whose
// credential is the one-time code in its body; rate limited per address and overall; everything else refused (the
// access guard: deny by default). Small bodies only. A vehicle pins the certificate (`roamlink enroll --pin`).
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../../shared/log.js';
import { installErrorHandling, sendError } from '../../shared/http/errors.js';
import { parseOrThrow } from '../../shared/errors.js';
import { enrollRequestSchema } from '../../shared/wire/enroll.js';
import { installAccessGuard, PUBLIC } from '../admin/access.js';
import { enroll, type EnrollDeps } from './enroll.js';
import { ENROLL_LIMITS, RateLimiter, type RateLimits } from './rate.js';

export interface EnrollHttpOptions extends EnrollDeps {
  /** HTTPS with this pair; plain HTTP without (hq config allows that only on loopback). */
  tls?: { cert: string; key: string };
  limits?: RateLimits;
  now?: () => number;
  log: Logger;
}

export function buildEnrollHttp(o: EnrollHttpOptions): FastifyInstance {
  const app = Fastify({ ...(o.tls ? { https: { cert: o.tls.cert, key: o.tls.key, minVersion: 'TLSv1.2' as const } } : {}), logger: false, bodyLimit: 2048 }) as unknown as FastifyInstance;
  const now = o.now ?? Date.now;
  const limiter = new RateLimiter(o.limits ?? ENROLL_LIMITS, now());
  installErrorHandling(app, { log: o.log, surface: 'enrollment' });
  // Before the access guard: every request counts, whatever it asks for.
  app.addHook('onRequest', async (req, reply) => {
    const wait = limiter.take(req.ip, now());
    if (wait > 0) {
      o.log.warn({ event: 'enroll.rate_limited', from: req.ip }, `enrollment: too many requests from ${req.ip}`);
      return sendError(reply.header('retry-after', String(Math.ceil(wait / 1000))), 'RATE_LIMITED', `too many requests from ${req.ip}: try again in ${Math.ceil(wait / 1000)} s`);
    }
  });
  installAccessGuard(app, () => null);
  app.post('/v1/enroll', PUBLIC, async (req, reply) => {
    const body = parseOrThrow(enrollRequestSchema, req.body, 'body');
    const r = await enroll(body, req.ip, o);
    reply.header('cache-control', 'no-store');
    if (!r.ok) return sendError(reply, r.status, r.message, r.field);
    return r.response;
  });
  return app;
}

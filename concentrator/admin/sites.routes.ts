// Sites in the admin API: list, show (with the effective profile), add, change, remove, history. Every change is
// validated whole and audited with who made it.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InputError } from '../../shared/errors.js';
import { PROFILE_DEFAULTS, PROFILE_FIELDS, effectiveProfile } from '../../shared/wire/site-profile.js';
import { SiteExistsError, SiteNotFoundError, type SitePatch, type SiteService } from '../store/sites/service.js';
import { sendError } from '../../shared/http/errors.js';
import { OPERATOR } from './access.js';
import { POLICY_FIELDS } from '../../shared/policy.js';
import { parseTimeOrAgo } from './log-query.js';
import type { DriveRepository } from '../store/drives/repository.js';
import type { SimulationRunner } from '../drives/simulate.thread.js';

export interface SiteRoutesDeps {
  sites: SiteService;
  /** Where the change comes from, for the audit (`dashboard`, `admin socket`); the authenticated operator adds a name. */
  origin?: string;
  /** The drives HQ holds: POST /v1/sites/:name/simulate replays them (absent: the route answers with no vehicles). */
  drives?: Pick<DriveRepository, 'segments' | 'text'>;
  /** Where the replays run (default: a worker thread, one at a time, at most 2 minutes; drives/simulate.thread.ts). */
  simulations?: SimulationRunner;
  now?: () => number;
}

const PATCH_KEYS = ['description', 'match', 'profile'];

/** The audit's name: the operator the request's token authenticated (access.ts), never anything the client says. */
function who(req: FastifyRequest, origin: string): string {
  return req.operator ? `${origin}:${req.operator}` : origin;
}

function checkPatch(body: unknown): SitePatch {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new InputError('must be an object {description?, match?, profile?}', '(body)');
  for (const k of Object.keys(body)) if (!PATCH_KEYS.includes(k)) throw new InputError(`not a site field (one of ${PATCH_KEYS.join(', ')})`, k);
  const p = body as Record<string, unknown>;
  for (const k of ['match', 'profile']) {
    if (p[k] !== undefined && (typeof p[k] !== 'object' || p[k] === null || Array.isArray(p[k]))) throw new InputError('must be an object', k);
  }
  return p as SitePatch;
}

/** The simulate body: { set: {field: value}, since?: '7d', until? }, each part checked and named. */
function checkSimulate(body: unknown, now: number): { set: Record<string, number | string>; since: number; until: number } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new InputError('must be an object {set, since?, until?}', '(body)');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!['set', 'since', 'until'].includes(k)) throw new InputError('not a simulate field (one of set, since, until)', k);
  const set = b.set ?? {};
  if (typeof set !== 'object' || set === null || Array.isArray(set)) throw new InputError('must be an object of profile fields', 'set');
  for (const [k, v] of Object.entries(set)) {
    if (!(POLICY_FIELDS as string[]).includes(k)) throw new InputError(`not a profile field (one of ${POLICY_FIELDS.join(', ')})`, `set.${k}`);
    if (typeof v !== 'number' && typeof v !== 'string') throw new InputError('must be a number or a word', `set.${k}`);
  }
  for (const k of ['since', 'until']) if (b[k] !== undefined && typeof b[k] !== 'string') throw new InputError('must be a duration ago (7d) or an ISO time', k);
  const since = parseTimeOrAgo((b.since as string | undefined) ?? '7d', now, 'since');
  const until = b.until === undefined ? now : parseTimeOrAgo(b.until as string, now, 'until');
  if (until < since) throw new InputError('is before since', 'until');
  return { set: set as Record<string, number | string>, since, until };
}

export function registerSiteRoutes(app: FastifyInstance, d: SiteRoutesDeps): void {
  const origin = d.origin ?? 'admin';
  const { sites } = d;

  /** What a profile may hold, and the defaults where it is silent (the dashboard's form). */
  app.get('/v1/site-profile', OPERATOR, async () => ({ fields: PROFILE_FIELDS, defaults: PROFILE_DEFAULTS }));

  app.get('/v1/sites', OPERATOR, async () => ({ ...(await sites.set()), recent: await sites.recent(20) }));

  app.get<{ Params: { name: string } }>('/v1/sites/:name', OPERATOR, async (req, reply) => {
    const s = await sites.get(req.params.name);
    if (!s) return sendError(reply, 'SITE_NOT_FOUND', `no site "${req.params.name}"`);
    return { site: s, effective: effectiveProfile(s.profile) };
  });

  app.get<{ Params: { name: string } }>('/v1/sites/:name/history', OPERATOR, async (req, reply) => {
    const h = await sites.history(req.params.name);
    if (!h.length) return sendError(reply, 'SITE_NOT_FOUND', `no site "${req.params.name}"`);
    return { history: h };
  });

  /** The site's proposed thresholds tried on the drives HQ holds, beside its current ones (nothing is saved). */
  let simulations: SimulationRunner | undefined;
  app.post<{ Params: { name: string } }>('/v1/sites/:name/simulate', OPERATOR, async (req, reply) => {
    const s = await sites.get(req.params.name);
    if (!s) return sendError(reply, 'SITE_NOT_FOUND', `no site "${req.params.name}"`);
    // A bad field throws an InputError: the error table answers 400 INVALID naming it.
    const q = checkSimulate(req.body, (d.now ?? Date.now)());
    const { proposedProfile, siteDrives } = await import('../drives/simulate.js');
    proposedProfile(s, q.set, (k) => `set.${k}`);
    // The drives read here (quick); replayed in a worker thread, off the event loop the agents' API and the
    // reconcile run on. One at a time: a second request meanwhile, or one past the bound, is answered 503.
    const { SimulationBusyError, workerSimulations } = await import('../drives/simulate.thread.js');
    simulations ??= d.simulations ?? workerSimulations();
    const drives = d.drives ? await siteDrives(d.drives, s.name, q.since, q.until) : [];
    try {
      return await simulations.run({ drives, site: s, overrides: q.set, sinceWall: q.since, untilWall: q.until });
    } catch (err) {
      if (err instanceof SimulationBusyError) return sendError(reply, 'SIMULATION_BUSY', err.message);
      throw err;
    }
  });

  app.post('/v1/sites', OPERATOR, async (req, reply) => {
    try {
      const site = await sites.add(req.body, who(req, origin));
      return reply.code(201).send({ site });
    } catch (err) {
      if (err instanceof SiteExistsError) return sendError(reply, 'SITE_EXISTS', err.message, err.field);
      throw err; // an InputError: 400 INVALID naming the field
    }
  });

  app.patch<{ Params: { name: string } }>('/v1/sites/:name', OPERATOR, async (req, reply) => {
    try {
      return await sites.update(req.params.name, checkPatch(req.body), who(req, origin));
    } catch (err) {
      if (err instanceof SiteNotFoundError) return sendError(reply, 'SITE_NOT_FOUND', err.message);
      throw err; // an InputError: 400 INVALID naming the field
    }
  });

  app.delete<{ Params: { name: string } }>('/v1/sites/:name', OPERATOR, async (req, reply) => {
    try {
      return { removed: await sites.remove(req.params.name, who(req, origin)) };
    } catch (err) {
      if (err instanceof SiteNotFoundError) return sendError(reply, 'SITE_NOT_FOUND', err.message);
      throw err;
    }
  });
}

// Site routes of the admin API (placeholder until the site store lands).
import type { FastifyInstance } from 'fastify';

export interface SiteRoutesDeps {
  sites: unknown;
}

export function registerSiteRoutes(_app: FastifyInstance, _d: SiteRoutesDeps): void {}

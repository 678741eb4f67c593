// Vehicles added and revoked through the admin API (the dashboard): an enrollment code issued, or a public key
// registered at once; a revocation. Operators only (the access guard), each change audited with the operator the token
// named, in the change's own transaction. HQ never makes a vehicle's private key here. Codes never reach a log line.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InputError } from '../../shared/errors.js';
import { OPERATOR } from './access.js';
import { sendError } from '../../shared/http/errors.js';
import { issueCode } from '../enroll/issue.js';
import type { EnrollmentService } from '../store/enrollments/service.js';
import type { VehicleService } from '../store/vehicles/service.js';

export interface VehicleRoutesDeps {
  vehicles: Pick<VehicleService, 'add' | 'revoke' | 'get'>;
  enrollments: EnrollmentService;
  /** Where the change comes from, for the audit (`dashboard`, `admin socket`); the authenticated operator adds a name. */
  origin: string;
  /** Where vehicles redeem codes and HQ's certificate pin (shown with a code). */
  enrollTarget: () => Promise<{ hq: string | null; pin: string | null }>;
  /** Told after a change: the daemon programs the peer and route (or removes them) at once. */
  changed?: (vehicle: string, how: 'added' | 'revoked') => void;
}

const ADD_KEYS = ['name', 'subnet', 'site', 'public_key', 'valid'];
/** The registry's field names (the CLI's flags) as the API's. */
const FIELD: Record<string, string> = { NAME: 'name', '--subnet': 'subnet', '--site': 'site', '--pubkey': 'public_key', '--valid': 'valid', '--subnet-prefix': 'subnet' };

/** Runs `fn`, renaming an InputError's field to the API's. */
async function apiFields<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof InputError && err.field && FIELD[err.field]) throw new InputError(err.message, FIELD[err.field]);
    throw err;
  }
}

function checkAdd(body: unknown): { name: string; subnet?: string; site: string | null; public_key?: string; valid: string } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new InputError('must be an object {name, subnet?, site?, public_key?, valid?}', '(body)');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!ADD_KEYS.includes(k)) throw new InputError(`not a field (one of ${ADD_KEYS.join(', ')})`, k);
  for (const k of ADD_KEYS) if (b[k] !== undefined && b[k] !== null && typeof b[k] !== 'string') throw new InputError('must be a string', k);
  const opt = (k: string) => (typeof b[k] === 'string' && (b[k] as string).trim() !== '' ? (b[k] as string).trim() : undefined);
  const name = opt('name');
  if (!name) throw new InputError('is required', 'name');
  const subnet = opt('subnet');
  const key = opt('public_key');
  return { name, ...(subnet ? { subnet } : {}), site: opt('site') ?? null, ...(key ? { public_key: key } : {}), valid: opt('valid') ?? '15m' };
}

export function registerVehicleRoutes(app: FastifyInstance, d: VehicleRoutesDeps): void {
  const who = (req: FastifyRequest) => (req.operator ? `${d.origin}:${req.operator}` : d.origin);

  /**
   * Adds a vehicle. With `public_key` (made on the vehicle) it is registered now; without, a one-time enrollment code is
   * issued for `roamlink enroll CODE` on the vehicle, which makes its key there. The code is in this answer only.
   */
  app.post('/v1/vehicles', OPERATOR, async (req, reply) => {
    const b = checkAdd(req.body);
    const by = who(req);
    reply.header('cache-control', 'no-store');
    if (b.public_key === undefined) {
      const issued = await apiFields(() => issueCode(d, { name: b.name, subnet: b.subnet, subnetPrefix: 24, site: b.site, valid: b.valid, who: by }));
      return reply.code(201).send({ enrollment: { ...issued, ...(await d.enrollTarget()) } });
    }
    const added = await apiFields(() =>
      d.vehicles.add({
        name: b.name, publicKey: b.public_key!, site: b.site, ...(b.subnet ? { subnet: b.subnet } : {}),
        also: (trx, v) => d.enrollments.audit(by, 'added', v.name, `added: public key ${v.public_key}, tunnel ${v.tunnel_address}, subnet ${v.subnet}`, trx),
      }),
    );
    d.changed?.(added.vehicle.name, 'added');
    return reply.code(201).send({ vehicle: added.vehicle });
  });

  /** Revokes the active vehicle: its peer and route go at once, its key is burned, its fleet state row removed. */
  app.post<{ Params: { name: string } }>('/v1/vehicles/:name/revoke', OPERATOR, async (req, reply) => {
    const by = who(req);
    if (!(await d.vehicles.get(req.params.name))) return sendError(reply, 'VEHICLE_NOT_FOUND', `no vehicle "${req.params.name}"`);
    const v = await apiFields(() => d.vehicles.revoke(req.params.name, (trx, r) => d.enrollments.audit(by, 'revoked', r.name, `revoked: public key ${r.public_key}, tunnel ${r.tunnel_address}, subnet ${r.subnet}`, trx)));
    d.changed?.(v.name, 'revoked');
    return { vehicle: v };
  });

  /** The registry's audit, newest first: codes issued, enrollments, refusals, adds and revocations, with who. */
  app.get<{ Querystring: { limit?: string } }>('/v1/audit/vehicles', OPERATOR, async (req) => {
    const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new InputError('must be 1 to 1000', 'limit');
    return { audit: await d.enrollments.recentAudit(limit) };
  });
}

// `roamlink vehicle add NAME` without a key: checks what it can now (the name free, the subnet a network, the site a
// name), then issues a one-time code, audited; the vehicle is added when the code is redeemed (enroll.ts).
import { parseDuration } from '../../shared/duration.js';
import { InputError } from '../../shared/errors.js';
import type { HqConfig } from '../../shared/config/hq.js';
import { loadAdminTls } from '../../shared/config/admin-tls.js';
import { parseCidr } from '../cidr.js';
import { CODE_TTL_MAX_MS, type EnrollmentService } from '../store/enrollments/service.js';
import type { VehicleService } from '../store/vehicles/service.js';
import { assertSite, assertVehicleName } from '../store/vehicles/schema.js';
import { openVehicles } from '../store/vehicles/open.js';

export interface Issued {
  name: string;
  /** The code itself: shown once, never stored. */
  code: string;
  expires_at: string;
  /** Where vehicles enroll (enroll_listen), when it names a host they can use. */
  hq: string | null;
  /** The SHA-256 of HQ's certificate, for `roamlink enroll --pin`. */
  pin: string | null;
}

export interface IssueInput {
  name: string;
  subnet?: string | undefined;
  subnetPrefix: number;
  site: string | null;
  /** How long the code is valid, e.g. '15m' (1m to 24h). */
  valid: string;
  /** Who asks, for the audit (the CLI's operator, or `dashboard:NAME`). */
  who: string;
}

/** Checks what can be checked now and issues the code on an open registry (the CLI's or the daemon's). */
export async function issueCode(d: { vehicles: Pick<VehicleService, 'get'>; enrollments: EnrollmentService }, o: IssueInput): Promise<{ name: string; code: string; expires_at: string }> {
  const name = assertVehicleName(o.name, 'NAME');
  let ttl: number;
  try {
    ttl = parseDuration(o.valid);
  } catch (err) {
    throw new InputError(err instanceof Error ? err.message : String(err), '--valid');
  }
  if (ttl < 60_000 || ttl > CODE_TTL_MAX_MS) throw new InputError(`${o.valid}: a code is valid 1m to 24h`, '--valid');
  if (o.subnet !== undefined && parseCidr(o.subnet) === null) throw new InputError(`${JSON.stringify(o.subnet)} is not an IPv4 network`, '--subnet');
  if (!Number.isInteger(o.subnetPrefix) || o.subnetPrefix < 8 || o.subnetPrefix > 30) throw new InputError(`/${o.subnetPrefix}: a vehicle subnet is /8 to /30`, '--subnet-prefix');
  const site = o.site === null ? null : assertSite(o.site);
  if (await d.vehicles.get(name).then((v) => v && !v.revoked_at)) throw new InputError(`vehicle "${name}" already exists`, 'NAME');
  const issued = await d.enrollments.issue({ vehicle: name, subnet: o.subnet ?? null, subnet_prefix: o.subnetPrefix, site, who: o.who, ttlMs: ttl });
  return { name, ...issued };
}

/** Where vehicles redeem codes and HQ's certificate pin, for the command shown with a code. */
export async function enrollTarget(cfg: Pick<HqConfig, 'enroll_listen' | 'admin_tls'>): Promise<{ hq: string | null; pin: string | null }> {
  const listen = cfg.enroll_listen ?? null;
  const host = listen ? listen.slice(0, listen.lastIndexOf(':')) : null;
  const pin = cfg.admin_tls ? (await loadAdminTls(cfg.admin_tls)).fingerprint256 : null;
  return { hq: listen && host !== '0.0.0.0' && host !== '[::]' ? listen : null, pin };
}

/** `roamlink vehicle add NAME` without a key: the registry opened for the command. */
export async function issueEnrollmentCode(cfg: HqConfig, o: IssueInput): Promise<Issued> {
  const { vehicles, enrollments, close } = await openVehicles(cfg);
  let issued;
  try {
    issued = await issueCode({ vehicles, enrollments }, o);
  } finally {
    await close();
  }
  return { ...issued, ...(await enrollTarget(cfg)) };
}

// `roamlink vehicle add NAME` without a key: checks what it can now (the name free, the subnet a network, the site a
// name), then issues a one-time code, audited; the vehicle is added when the code is redeemed (enroll.ts).
import { parseDuration } from '../../shared/duration.js';
import { InputError } from '../../shared/errors.js';
import type { HqConfig } from '../../shared/config/hq.js';
import { loadAdminTls } from '../../shared/config/admin-tls.js';
import { parseCidr } from '../cidr.js';
import { CODE_TTL_MAX_MS } from '../store/enrollments/service.js';
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

export async function issueEnrollmentCode(cfg: HqConfig, o: { name: string; subnet?: string | undefined; subnetPrefix: number; site: string | null; valid: string; who: string }): Promise<Issued> {
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
  const { vehicles, enrollments, close } = await openVehicles(cfg);
  let issued;
  try {
    if (await vehicles.get(name).then((v) => v && !v.revoked_at)) throw new InputError(`vehicle "${name}" already exists`, 'NAME');
    issued = await enrollments.issue({ vehicle: name, subnet: o.subnet ?? null, subnet_prefix: o.subnetPrefix, site, who: o.who, ttlMs: ttl });
  } finally {
    await close();
  }
  const listen = cfg.enroll_listen ?? null;
  const host = listen ? listen.slice(0, listen.lastIndexOf(':')) : null;
  const pin = cfg.admin_tls ? (await loadAdminTls(cfg.admin_tls)).fingerprint256 : null;
  return { name, code: issued.code, expires_at: issued.expires_at, hq: listen && host !== '0.0.0.0' && host !== '[::]' ? listen : null, pin };
}

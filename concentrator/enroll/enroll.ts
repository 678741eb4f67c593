// Redeeming an enrollment code: the code checked, the vehicle added to the registry with the public key it made, the
// code spent, all audited; a refusal changes nothing. The code is never logged nor put in an error.
import { InputError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import type { EnrollRequest, EnrollResponse } from '../../shared/wire/enroll.js';
import { CodeGoneError, type EnrollmentService } from '../store/enrollments/service.js';
import type { VehicleService } from '../store/vehicles/service.js';

export interface EnrollDeps {
  codes: EnrollmentService;
  vehicles: VehicleService;
  concentrator: EnrollResponse['concentrator'];
  log: Logger;
  /** Called after a vehicle was added (the daemon programs its peer and route). */
  onEnrolled?: (vehicle: string) => void;
}

export type EnrollOutcome =
  | { ok: true; response: EnrollResponse }
  | { ok: false; status: 'ENROLL_REFUSED' | 'ENROLL_CONFLICT'; message: string; field?: string };

const REFUSAL: Record<'malformed' | 'unknown' | 'expired' | 'used', (at?: string) => string> = {
  malformed: () => 'not an enrollment code (20 characters, e.g. 7Q2M-9KX4-HT0B-E5RW-1ZPA)',
  unknown: () => 'no such enrollment code (ask HQ for a new one: roamlink vehicle add NAME)',
  expired: (at) => `the enrollment code expired at ${at} (ask HQ for a new one)`,
  used: (at) => `the enrollment code was already used (${at}); a code enrolls once (ask HQ for a new one)`,
};

export async function enroll(req: EnrollRequest, from: string, d: EnrollDeps): Promise<EnrollOutcome> {
  const refuse = async (c: { why: keyof typeof REFUSAL; at?: string; vehicle?: string }): Promise<EnrollOutcome> => {
    await d.codes.audit(from, 'refused', c.vehicle ?? null, `refused from ${from}: ${c.why}`);
    d.log.warn({ event: 'enroll.refused', from, why: c.why, vehicle: c.vehicle ?? null }, `enrollment refused from ${from}: ${c.why}`);
    return { ok: false, status: 'ENROLL_REFUSED', message: REFUSAL[c.why](c.at) };
  };
  const c = await d.codes.check(req.code);
  if (!c.ok) return refuse(c);
  const p = c.pending;
  let added;
  try {
    // The code is spent in the add's own transaction: two redemptions at once, one vehicle; a refusal, nothing spent.
    added = await d.vehicles.add({
      name: p.vehicle, publicKey: req.public_key, site: p.site, subnetPrefix: p.subnet_prefix, ...(p.subnet ? { subnet: p.subnet } : {}),
      also: async (trx, v) => {
        await d.codes.claim(trx, c.hash, from);
        await d.codes.audit(from, 'enrolled', v.name, `enrolled from ${from}: public key ${v.public_key}, tunnel ${v.tunnel_address}, subnet ${v.subnet}`, trx);
      },
    });
  } catch (err) {
    if (err instanceof CodeGoneError) {
      const again = await d.codes.check(req.code);
      return refuse(again.ok ? { why: 'used', vehicle: p.vehicle } : again);
    }
    if (!(err instanceof InputError)) throw err;
    const field = err.field === '--pubkey' ? 'public_key' : err.field === 'NAME' ? 'vehicle' : err.field;
    await d.codes.audit(from, 'refused', p.vehicle, `refused from ${from}: ${err.message}`);
    d.log.warn({ event: 'enroll.refused', from, vehicle: p.vehicle, err: err.message }, `enrollment of ${p.vehicle} refused: ${err.message}`);
    return { ok: false, status: 'ENROLL_CONFLICT', message: err.message, ...(field ? { field } : {}) };
  }
  const v = added.vehicle;
  d.log.info({ event: 'enroll.done', vehicle: v.name, from, tunnel_address: v.tunnel_address, subnet: v.subnet }, `vehicle ${v.name} enrolled from ${from}`);
  d.onEnrolled?.(v.name);
  return { ok: true, response: { vehicle: v.name, tunnel_address: v.tunnel_address, subnet: v.subnet, site: v.site, concentrator: d.concentrator } };
}

// At start, a switch the last process left between steering and confirming: completed (HQ gets it once) when the
// steering found points at its uplink, else abandoned (it never took effect); each logged as it is settled.
import type { Logger } from '../../shared/log.js';
import type { FleetLink } from '../ship/fleet-link.js';

/** Settles the journal's open intents by the uplink the found steering points at; the completed ones get a switch line. */
export function settleLeftIntents(link: FleetLink, steeredTo: string | null, vehicle: string, log: Logger): void {
  for (const v of link.settleIntents(steeredTo)) {
    const e = v.event;
    if (v.do === 'abandon') {
      log.warn({ event: 'switch.abandoned', id: e.id, from: e.from, to: e.to, reason: e.reason }, v.why);
      continue;
    }
    // The switch line as a confirmed switch has it (the lab and people read the same fields), unconfirmed.
    log.info({
      event: 'switch', vehicle, id: e.id, from: e.from, to: e.to, reason: e.reason, decided_at: Date.parse(e.at), steered_at: null,
      confirmed_at: null, ms_to_first_packet: null, candidates: e.candidates, operator: e.why?.operator ?? false, site: e.site ?? null,
      why: e.why ?? null, adopted: true,
    }, `switch ${e.from ?? '-'} -> ${e.to} (${e.reason}: ${e.why?.text ?? ''}) completed at adoption: ${v.why}`);
  }
}

// Switch events for the store, API, shipper and log tests (no tests of its own).
import { switchEventSchema, whySchema, type SwitchEvent, type WhyRecord } from '../../shared/wire/switch-event.js';
import { DEFAULT_POLICY } from '../../shared/policy.js';

export const T0 = Date.parse('2026-11-21T10:00:00Z');
export const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

export function ev(n: number, over: Partial<SwitchEvent> = {}): SwitchEvent {
  return switchEventSchema.parse({
    id: uuid(n), vehicle: 'bus-7', seq: n, at: new Date(T0 + n * 1000).toISOString(),
    from: n === 1 ? null : 'wlan0', to: n % 2 ? 'wlan1' : 'wwan0', reason: n % 3 ? 'signal' : 'carrier-loss', ms_to_first_packet: 10 + n,
    ...over,
  });
}


/** A why as an agent sends it: the rule, the line, the thresholds, two candidates as the decision saw them. */
export function whyOf(text: string, over: Partial<WhyRecord> = {}): WhyRecord {
  return whySchema.parse({
    rule: 'signal', text, site: 'depot', policy: { ...DEFAULT_POLICY },
    candidates: [
      { name: 'wlan0', kind: 'wifi', phase: 'ready', state: 'active', signal: -81, rtt_ms: 12.5, loss: 0, ready: true, carrier: true, active: true, usable: true, ap: { ssid: 'depot', bssid: '02:00:00:00:00:01' } },
      { name: 'wlan1', kind: 'wifi', phase: 'ready', state: 'standby', signal: -62, rtt_ms: 9, loss: 0.05, ready: true, carrier: true, active: false, usable: true, ap: { ssid: 'street-7', bssid: '02:00:00:00:00:02' } },
    ],
    ...over,
  });
}

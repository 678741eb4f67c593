// Switch events for the store, API, shipper and log tests (no tests of its own).
import { switchEventSchema, type SwitchEvent } from '../../shared/wire/switch-event.js';

export const T0 = Date.parse('2026-11-21T10:00:00Z');
export const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

export function ev(n: number, over: Partial<SwitchEvent> = {}): SwitchEvent {
  return switchEventSchema.parse({
    id: uuid(n), vehicle: 'bus-7', seq: n, at: new Date(T0 + n * 1000).toISOString(),
    from: n === 1 ? null : 'wlan0', to: n % 2 ? 'wlan1' : 'wwan0', reason: n % 3 ? 'signal' : 'carrier-loss', ms_to_first_packet: 10 + n,
    ...over,
  });
}


// Pure choices the arbiter makes without a policy: where to go when the active uplink is lost.
import type { UplinkStatus } from './uplink.machine.js';

export type SwitchReason = 'initial' | 'operator' | 'carrier' | 'failed' | 'signal' | 'better' | 'lte-fallback' | 'lte-leave';

/** The ready uplink to fail over to: Wi-Fi and Ethernet before LTE (the costed one), then the lowest RTT, then order. */
export function pickAfterLoss(uplinks: UplinkStatus[], active: string | null): string | null {
  const cost = (u: UplinkStatus) => (u.kind === 'lte' ? 1 : 0);
  const ready = uplinks
    .filter((u) => u.ready && u.carrier && u.name !== active)
    .sort((a, b) => cost(a) - cost(b) || (a.rttMs ?? Infinity) - (b.rttMs ?? Infinity) || a.slot - b.slot);
  return ready[0]?.name ?? null;
}

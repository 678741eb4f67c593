// The arbiter's steering, as the agent does it: a switch's intent journaled first, then the tunnel's outer packets
// steered (nft), then, the first time a path exists, the tunnel's default route and the peer.
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../../shared/log.js';
import type { CopyTarget, SteerDriver, SteerTarget } from '../drivers/nft/steer.js';
import { uplinkMark, type RoutingDriver, type UplinkSlot } from '../drivers/routing/uplink.routing.js';
import type { SwitchRecord } from '../machines/arbiter.machine.js';
import type { UplinkStatus } from '../machines/uplink.machine.js';

/** Where a switch's intent is journaled (the fleet link's journal), or null before it is open. */
export interface IntentJournal {
  intend(r: SwitchRecord): void;
  abandon(id: string, why: string): void;
}

export interface SwitchSteerDeps {
  steer: Pick<SteerDriver, 'steer'>;
  routing: Pick<RoutingDriver, 'setTunnelDefault'>;
  /** Sets the concentrator's peer on the tunnel interface. */
  setPeer: () => Promise<void>;
  slots: ReadonlyMap<string, UplinkSlot>;
  wgMark: number;
  endpoint: { address: string; port: number };
  /** The peer is in place already (adopted): the first steering need not set it. */
  peerConfigured: boolean;
  journal: () => IntentJournal | null;
  log: Logger;
  /** Test only (agent/start/test-hooks.ts): ms between an operator switch's steering and its confirmation. */
  holdOperatorSteerMs?: number;
}

export interface SwitchSteer {
  steer(to: UplinkStatus, signal: AbortSignal, intent?: SwitchRecord): Promise<void>;
  afterSwitch(to: UplinkStatus): Promise<void>;
  /** Copies of the outer packets through this standby too (redundancy), or none (null); steered with the next rule
   *  (at once when the tunnel is steered already). Resolves once nft has it; never rejects (a failure is logged). */
  copy(via: UplinkStatus | null): Promise<void>;
  /** Whether the peer is set (the tunnel keeper only acts once it is). */
  peerConfigured(): boolean;
  /** Another HQ (agent/start/hq.start.ts): the rule matches the outer packets to this endpoint from now on (applied at
   *  once when the tunnel is steered already). */
  retarget(endpoint: { address: string; port: number }): Promise<void>;
}

export function createSwitchSteer(d: SwitchSteerDeps): SwitchSteer {
  let peerConfigured = d.peerConfigured;
  // The one rule holds both the steering and the copies: each nft call writes both as they are now, one at a time.
  let target: SteerTarget | null = null;
  let copy: (CopyTarget & { uplink: string }) | null = null;
  let chain: Promise<unknown> = Promise.resolve();
  let endpoint = d.endpoint;
  const apply = (signal?: AbortSignal) => {
    const p = chain.then(() => d.steer.steer({ wgMark: d.wgMark, endpoint, target, copy: copy && target ? { mark: copy.mark, address: copy.address, gateway: copy.gateway, device: copy.device } : null }, signal));
    chain = p.catch(() => {});
    return p;
  };
  // The journal never stops a switch: a failed write is an error line, and the switch goes on.
  const journaled = (what: string, id: string, fn: (j: IntentJournal) => void) => {
    const j = d.journal();
    if (!j) return;
    try {
      fn(j);
    } catch (err) {
      d.log.error({ event: 'journal.failed', id, err: String(err) }, `could not journal ${what} of switch ${id}`);
    }
  };
  return {
    async steer(to, signal, intent) {
      const lease = to.lease;
      if (!lease) throw new Error(`${to.name} has no address`);
      const slot = d.slots.get(to.name)!;
      if (intent) journaled('the intent', intent.id, (j) => j.intend(intent));
      try {
        target = { mark: uplinkMark(d.wgMark, slot), address: lease.address };
        if (copy?.uplink === to.name) copy = null; // the copies' path carries the tunnel itself now
        await apply(signal);
      } catch (err) {
        // nft failed (its script is one transaction): no switch. Aborted (the agent stopping), it may have taken
        // effect: the intent stays open for the next process to settle by what it finds.
        if (intent && !signal.aborted) journaled('the abandon', intent.id, (j) => j.abandon(intent.id, `steering failed: ${String(err)}`));
        throw err;
      }
      if (intent?.operator && d.holdOperatorSteerMs) await delay(d.holdOperatorSteerMs, undefined, { signal });
      // The peer is configured once a path exists: WireGuard sends its first handshake at once, and a handshake
      // sent with no route is retried only after 5 s.
      if (!peerConfigured) {
        await d.routing.setTunnelDefault(slot, lease);
        await d.setPeer();
        peerConfigured = true;
      }
    },
    async afterSwitch(to) {
      if (to.lease) await d.routing.setTunnelDefault(d.slots.get(to.name)!, to.lease);
    },
    async copy(via) {
      const slot = via ? d.slots.get(via.name) : undefined;
      const next = via?.lease?.router && slot ? { uplink: via.name, mark: uplinkMark(d.wgMark, slot), address: via.lease.address, gateway: via.lease.router, device: via.name } : null;
      if (via && !next) d.log.warn({ event: 'redundancy.refused', via: via.name }, `no copies through ${via.name}: it has no address or gateway`);
      if (JSON.stringify(next) === JSON.stringify(copy)) return;
      copy = next;
      if (!target) return;
      try {
        await apply();
      } catch (err) {
        d.log.error({ event: 'redundancy.failed', via: via?.name ?? null, err: String(err) }, `could not steer the copies${via ? ` through ${via.name}` : ''}: ${String(err)}`);
      }
    },
    peerConfigured: () => peerConfigured,
    async retarget(to) {
      endpoint = { address: to.address, port: to.port };
      if (target) await apply();
    },
  };
}

// The tunnel's HQ among `concentrator.endpoints`: a tick runs decideHq (agent/policy/hq.failover.ts) over the uplinks'
// probe replies, asks the other HQ's probe echo through a working uplink, and moves the tunnel there (steering first,
// then the probes, then the peer, removed and set again so that WireGuard handshakes with the new HQ at once).
import type { Timer } from '../../shared/clock.js';
import type { Logger } from '../../shared/log.js';
import { decideHq, type HqFacts, type HqFailoverPolicy } from '../policy/hq.failover.js';
import type { UplinkStatus } from '../machines/uplink.machine.js';
import type { TunnelPeer } from './tunnel.start.js';

export interface HqEndpoint {
  address: string;
  port: number;
}

/** host:port (validated by the agent config) as address and port. */
export function endpointOf(text: string): HqEndpoint {
  const i = text.lastIndexOf(':');
  return { address: text.slice(0, i), port: Number(text.slice(i + 1)) };
}

export interface HqFailoverDeps {
  /** The agent config's `concentrator.endpoints` (host:port); the tunnel starts on the first. */
  endpoints: readonly string[];
  /** The HQs' probe echo port (`concentrator.probe_port`). */
  probePort: number;
  /** failover_ms; without an active uplink, failover_ms plus three standby probe intervals. */
  failoverMs: number;
  standbyProbeMs: number;
  /** Between two asks while the silence lasts (default 500 ms). */
  askEveryMs?: number;
  /** The peer as configured (its endpoint the first HQ's). */
  peer: TunnelPeer;
  /** The arbiter's view: the uplinks (their probe replies) and the tunnel's packets from HQ (arbiterView's tunnelRx). */
  view: () => { active: string | null; status: Record<string, UplinkStatus>; tunnelRx?: { at: number | null; moving: boolean } };
  /** One probe of `target` from `bindAddress` (an uplink's own address): resolves with the RTT, rejects on abort. */
  ask: (bindAddress: string, target: HqEndpoint, signal: AbortSignal) => Promise<number>;
  /** The steering's match on the endpoint (nft), the uplinks' probes' target, the peer itself. */
  retargetSteer: (endpoint: HqEndpoint) => Promise<void>;
  retargetProbes: (target: HqEndpoint) => void;
  /** The peer on the tunnel interface: whether it is set yet (the first steering sets it), its removal, its setting. */
  peerConfigured: () => boolean;
  removePeer: (peer: TunnelPeer) => Promise<void>;
  setPeer: (peer: TunnelPeer) => Promise<void>;
  clock: Timer & { now(): number };
  log: Pick<Logger, 'info' | 'warn'>;
  /** Between two looks at the facts (default 100 ms). */
  tickMs?: number;
  /** How long an ask waits for its answer (default 500 ms). */
  askTimeoutMs?: number;
}

export interface HqFailover {
  /** The peer as it is now (the tunnel keeper's re-handshake sets this one). */
  peer(): TunnelPeer;
  /** Index into `endpoints` of the HQ the tunnel goes to. */
  current(): number;
  /** The other HQ's probe echo (its address, `probePort`), the arbiter's witness when its own HQ goes silent; null
   *  with one HQ. */
  otherProbe(): HqEndpoint | null;
  stop(): void;
}

/**
 * The current HQ's last word on any path: the newest probe reply of any uplink, or a packet through the tunnel (while
 * they flow the active is probed only at the standby pace: the tunnel's packets are what say HQ is there; now, when
 * they are still coming).
 */
function heardAt(v: ReturnType<HqFailoverDeps['view']>, now: number): number | null {
  let at: number | null = v.tunnelRx?.moving ? now : (v.tunnelRx?.at ?? null);
  for (const u of Object.values(v.status)) if (u.lastOkAt !== null && (at === null || u.lastOkAt > at)) at = u.lastOkAt;
  return at;
}

/** The uplink to ask through: the active when it has an address, else the first that has one. */
function viaOf(v: { active: string | null; status: Record<string, UplinkStatus> }): UplinkStatus | null {
  const active = v.active ? v.status[v.active] : undefined;
  if (active?.lease && active.addressed !== false) return active;
  return Object.values(v.status).find((u) => u.lease && u.addressed !== false) ?? null;
}

/** The next endpoint after `current` (two HQs: the other one). */
function nextOther(current: number, count: number): number {
  return (current + 1) % count;
}

export function startHqFailover(d: HqFailoverDeps): HqFailover {
  const tickMs = d.tickMs ?? 100;
  const askTimeoutMs = d.askTimeoutMs ?? 500;
  const policy: HqFailoverPolicy = { failoverMs: d.failoverMs, noActiveFailoverMs: d.failoverMs + 3 * d.standbyProbeMs, askEveryMs: d.askEveryMs ?? 500 };
  // What the paths were at the last tick, and since when.
  let paths: { active: string | null; any: boolean } = { active: null, any: false };
  let pathsSince: number | null = null;
  let current = 0;
  let since = d.clock.now();
  let peer = d.peer;
  let asked: HqFacts['asked'] = null;
  let busy = false;
  let stopped = false;
  let handle: unknown = null;
  const inFlight = new Set<AbortController>();

  const schedule = () => {
    if (!stopped) handle = d.clock.set(tick, tickMs);
  };
  async function tick(): Promise<void> {
    handle = null;
    if (stopped) return;
    if (busy) return schedule();
    const v = d.view();
    const via = viaOf(v);
    const now = d.clock.now();
    const active = v.active && v.status[v.active]?.lease ? v.active : null;
    if (active !== paths.active || !!via !== paths.any) {
      // A new active (or none now), an uplink addressed where none was, or the last one lost: the silence counts anew.
      paths = { active, any: !!via };
      pathsSince = via ? now : null;
    }
    const action = decideHq({ now, count: d.endpoints.length, current, since, heardAt: heardAt(v, now), via: via?.name ?? null, hasActive: active !== null, pathsSince, asked }, policy);
    if (action.do === 'ask' && via?.lease) {
      const mine = { hq: action.hq, at: d.clock.now(), answeredAt: null as number | null };
      asked = mine;
      const ac = new AbortController();
      inFlight.add(ac);
      const timer = d.clock.set(() => ac.abort(), askTimeoutMs);
      d.ask(via.lease.address, { address: endpointOf(d.endpoints[action.hq]!).address, port: d.probePort }, ac.signal).then(
        () => {
          if (asked === mine) mine.answeredAt = d.clock.now();
          // Answered: decide at once rather than at the next tick.
          if (!stopped && !busy && handle !== null) {
            d.clock.clear(handle);
            void tick();
          }
        },
        () => {},
      ).finally(() => {
        d.clock.clear(timer);
        inFlight.delete(ac);
      });
    } else if (action.do === 'move') {
      busy = true;
      const from = d.endpoints[current]!;
      const to = d.endpoints[action.to]!;
      const silentMs = Math.round(d.clock.now() - Math.max(heardAt(v, d.clock.now()) ?? -Infinity, since));
      try {
        const ep = endpointOf(to);
        await d.retargetSteer(ep);
        d.retargetProbes({ address: ep.address, port: d.probePort });
        peer = { ...d.peer, endpoint: to };
        // Removed and set again (a fresh handshake with the new HQ at once); not set yet, the first steering sets this one.
        if (d.peerConfigured()) {
          await d.removePeer(peer);
          await d.setPeer(peer);
        }
        current = action.to;
        since = d.clock.now();
        asked = null;
        d.log.info({ event: 'hq.failover', from, to, silent_ms: silentMs }, `HQ ${from} silent on every path for ${silentMs} ms while ${to} answers: the tunnel moved to ${to}`);
      } catch (err) {
        d.log.warn({ event: 'hq.failover.failed', from, to, err: String(err) }, `could not move the tunnel to HQ ${to}: ${String(err)}`);
      } finally {
        busy = false;
      }
    }
    schedule();
  }
  // One HQ: nothing to decide, nothing ticks.
  if (d.endpoints.length > 1) schedule();
  return {
    peer: () => peer,
    current: () => current,
    otherProbe: () => (d.endpoints.length > 1 ? { address: endpointOf(d.endpoints[nextOther(current, d.endpoints.length)]!).address, port: d.probePort } : null),
    stop() {
      stopped = true;
      if (handle !== null) d.clock.clear(handle);
      for (const ac of inFlight) ac.abort();
    },
  };
}

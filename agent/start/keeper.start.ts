// The tunnel keeper, wired: probes through the tunnel (one in-tunnel prober, shared with the arbiter's confirmation)
// and, when the tunnel is silent over an active path that answers, a fresh handshake (agent/machines/tunnel.machine.ts).
import { createActor } from 'xstate';
import type { AgentConfig } from '../../shared/config/agent.js';
import type { Logger } from '../../shared/log.js';
import { createUdpProber, type Prober } from '../drivers/probe/udp.probe.js';
import type { ArbiterView } from '../machines/arbiter.machine.js';
import { createTunnelMachine } from '../machines/tunnel.machine.js';

/** One probe through the tunnel to the concentrator's tunnel address: its replies prove the path we steered to. */
export function createTunnelProbe(cfg: AgentConfig): { probe(signal: AbortSignal): Promise<number>; close(): void } {
  let prober: Prober | null = null;
  const target = { address: cfg.concentrator.tunnel_address, port: cfg.concentrator.probe_port };
  return {
    async probe(signal) {
      prober ??= await createUdpProber(cfg.wireguard.address, target);
      return prober.probe(signal);
    },
    close: () => prober?.close(),
  };
}

/** The active uplink's own path answers (ready, its last probe answered) and the peer is set: a silent tunnel over
 *  it means the concentrator lost our session (pure). */
export function pathOk(v: Pick<ArbiterView, 'active' | 'status'>, peerConfigured: boolean): boolean {
  const a = v.active ? v.status[v.active] : undefined;
  return peerConfigured && !!a?.ready && a.misses === 0;
}

export function startTunnelKeeper(o: {
  probe: (signal: AbortSignal) => Promise<number>;
  view: () => ArbiterView;
  peerConfigured: () => boolean;
  rehandshake: () => Promise<void>;
  log: Logger;
}) {
  const keeper = createActor(createTunnelMachine({
    probe: o.probe,
    pathOk: () => pathOk(o.view(), o.peerConfigured()),
    async rehandshake() {
      o.log.warn({ event: 'tunnel.rehandshake' }, 'tunnel silent over a live path: forcing a new handshake');
      await o.rehandshake();
    },
    onChange: (up, why) => o.log.info({ event: up ? 'tunnel.up' : 'tunnel.down', why }, `tunnel ${up ? 'up' : 'down'}: ${why}`),
  }), { input: { intervalMs: 1000, timeoutMs: 500, misses: 3 } });
  keeper.start();
  return keeper;
}

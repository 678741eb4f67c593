// One UDP prober per uplink, bound to the uplink's current address: probes every few tens of ms reuse one socket.
import { createUdpProber, type Prober } from './udp.probe.js';

export interface ProbePool {
  /** One probe from `address` (the uplink's own address, so its policy rule routes it out of that uplink). */
  probe(ifname: string, address: string, signal: AbortSignal): Promise<number>;
  /** Another target (an HQ failover): every prober is closed, the next probe of each uplink opens one to it. */
  retarget(target: { address: string; port: number }): void;
  close(): void;
}

export type ProberFactory = (bindAddress: string, target: { address: string; port: number }) => Promise<Prober>;

/**
 * Keeps one prober per uplink; a new address closes the old socket first (a socket bound to an address the uplink
 * lost would send from it forever). A prober whose bind failed is not kept, so the next probe tries again.
 */
export function createProbePool(first: { address: string; port: number }, create: ProberFactory = createUdpProber): ProbePool {
  let target = first;
  const pool = new Map<string, { address: string; prober: Promise<Prober> }>();
  const drop = (ifname: string) => {
    const e = pool.get(ifname);
    pool.delete(ifname);
    void e?.prober.then((p) => p.close(), () => {});
  };
  return {
    async probe(ifname, address, signal) {
      let e = pool.get(ifname);
      if (e && e.address !== address) {
        drop(ifname);
        e = undefined;
      }
      if (!e) {
        e = { address, prober: create(address, target) };
        pool.set(ifname, e);
      }
      let prober: Prober;
      try {
        prober = await e.prober;
      } catch (err) {
        if (pool.get(ifname) === e) pool.delete(ifname);
        throw err;
      }
      return prober.probe(signal);
    },
    retarget(to) {
      target = { address: to.address, port: to.port };
      for (const ifname of [...pool.keys()]) drop(ifname);
    },
    close() {
      for (const ifname of [...pool.keys()]) drop(ifname);
    },
  };
}

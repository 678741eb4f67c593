// The tunnel's own packet counters, read from sysfs: cheap enough to read every few tens of ms.
//
// WireGuard (kernel module and wireguard-go alike) counts in rx_packets only the data packets it authenticated and
// delivered to the interface, so a growing rx counter proves the concentrator reaches us on the path in use; tx_packets
// grows with whatever the vehicle sends into the tunnel (traffic flowing). Keepalives count in neither.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface TunnelCounters {
  rx: number;
  tx: number;
}

export interface CounterReader {
  /** The interface's rx/tx packet counters now. Rejects when the interface is gone. */
  read(signal: AbortSignal): Promise<TunnelCounters>;
}

/** Parses a sysfs counter file's text (a decimal number and a newline). */
export function parseCounter(text: string, what: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new Error(`${what}: not a counter: ${JSON.stringify(t.slice(0, 40))}`);
  return Number(t);
}

/** Reads /sys/class/net/<ifname>/statistics/{rx,tx}_packets (in the reader's network namespace's sysfs). */
export function createSysfsCounters(ifname: string, root = '/sys/class/net'): CounterReader {
  const dir = join(root, ifname, 'statistics');
  const rxPath = join(dir, 'rx_packets');
  const txPath = join(dir, 'tx_packets');
  return {
    async read(signal) {
      const [rx, tx] = await Promise.all([readFile(rxPath, { encoding: 'utf8', signal }), readFile(txPath, { encoding: 'utf8', signal })]);
      return { rx: parseCounter(rx, rxPath), tx: parseCounter(tx, txPath) };
    },
  };
}

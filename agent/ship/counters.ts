// Interface counters from the kernel (/sys/class/net/IF/statistics), as systeminformation's networkStats reads them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** rx/tx bytes of `ifname`, or null when the interface is absent. Synchronous: two small sysfs reads. */
export function readCounters(ifname: string, root = '/sys/class/net'): { rx_bytes: number; tx_bytes: number } | null {
  if (!/^[a-zA-Z0-9_=+.-]{1,15}$/.test(ifname)) return null;
  try {
    const dir = join(root, ifname, 'statistics');
    return {
      rx_bytes: Number(readFileSync(join(dir, 'rx_bytes'), 'utf8').trim()),
      tx_bytes: Number(readFileSync(join(dir, 'tx_bytes'), 'utf8').trim()),
    };
  } catch {
    return null;
  }
}

// The tunnel's own packet counters, read from sysfs: cheap enough to read every few tens of ms.
//
// WireGuard (kernel module and wireguard-go alike) counts in rx_packets only the data packets it authenticated and
// delivered to the interface, so a growing rx counter proves the concentrator reaches us on the path in use; tx_packets
// grows with whatever the vehicle sends into the tunnel (traffic flowing). Keepalives count in neither.
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

export interface TunnelCounters {
  rx: number;
  tx: number;
}

export interface CounterReader {
  /** The interface's rx/tx packet counters now (two small synchronous reads). Throws when the interface is gone. */
  read(): TunnelCounters;
  close(): void;
}

/** Parses a sysfs counter file's text (a decimal number and a newline). */
export function parseCounter(text: string, what: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new Error(`${what}: not a counter: ${JSON.stringify(t.slice(0, 40))}`);
  return Number(t);
}

/**
 * Reads /sys/class/net/<ifname>/statistics/{rx,tx}_packets (in the reader's network namespace's sysfs). The files stay
 * open and are re-read from offset 0 (sysfs renders the value anew on each read): two small synchronous reads, no
 * open/close and no thread-pool round trip per tick — at 40 readings a second that is most of the agent's idle CPU.
 * A failed read (the interface re-created) reopens the files next time.
 */
export function createSysfsCounters(ifname: string, root = '/sys/class/net'): CounterReader {
  const dir = join(root, ifname, 'statistics');
  const paths = [join(dir, 'rx_packets'), join(dir, 'tx_packets')] as const;
  const buf = Buffer.alloc(32);
  let fds: [number, number] | null = null;
  const close = () => {
    if (fds) for (const fd of fds) closeSync(fd);
    fds = null;
  };
  const readOne = (fd: number, path: string) => parseCounter(buf.toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0)), path);
  return {
    read() {
      try {
        fds ??= [openSync(paths[0], 'r'), openSync(paths[1], 'r')];
        return { rx: readOne(fds[0], paths[0]), tx: readOne(fds[1], paths[1]) };
      } catch (err) {
        try {
          close();
        } catch {
          // already gone
        }
        throw err;
      }
    },
    close,
  };
}

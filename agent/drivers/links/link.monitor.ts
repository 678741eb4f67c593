// Carrier changes from netlink (`ip -o monitor link`), pushed as they happen: no polling.
import { execa } from 'execa';
import { createInterface } from 'node:readline';

export interface LinkState {
  ifname: string;
  /** UP and LOWER_UP, and not NO-CARRIER (the kernel calls it running: a Wi-Fi link is not until its handshake is done). */
  carrier: boolean;
}

/** Parses one line of `ip -o monitor link` or `ip -o link show` (pure). */
export function parseLinkLine(line: string): LinkState | null {
  const m = /^(?:\[[A-Z]+\]\s*)?(?:Deleted\s+)?\d+:\s+([^:@\s]+)(?:@[^:]+)?:\s+<([^>]*)>/.exec(line);
  if (!m) return null;
  if (/^(?:\[[A-Z]+\]\s*)?Deleted/.test(line)) return { ifname: m[1]!, carrier: false };
  const flags = m[2]!.split(',');
  // ip prints NO-CARRIER for UP without RUNNING: LOWER_UP can be set while the operstate is DORMANT (Wi-Fi before its
  // 4-way handshake) or LOWERLAYERDOWN (captured on a veth), and DHCP then would only time out.
  return { ifname: m[1]!, carrier: flags.includes('LOWER_UP') && flags.includes('UP') && !flags.includes('NO-CARRIER') };
}

export interface LinkMonitor {
  /** Current state of every link, then every change, until the signal aborts. */
  watch(onChange: (s: LinkState) => void, signal: AbortSignal): Promise<void>;
}

export function createLinkMonitor(): LinkMonitor {
  return {
    async watch(onChange, signal) {
      const last = new Map<string, boolean>();
      const emit = (s: LinkState | null) => {
        if (!s || last.get(s.ifname) === s.carrier) return;
        last.set(s.ifname, s.carrier);
        onChange(s);
      };
      // Start the monitor first so no change between the snapshot and the stream is missed.
      const mon = execa('ip', ['-o', 'monitor', 'link'], { reject: false, cancelSignal: signal, buffer: false, stdin: 'ignore', env: { LC_ALL: 'C' } });
      if (mon.stdout) createInterface({ input: mon.stdout }).on('line', (l) => emit(parseLinkLine(l)));
      const snap = await execa('ip', ['-o', 'link', 'show'], { reject: false, env: { LC_ALL: 'C' } });
      for (const l of String(snap.stdout).split('\n')) emit(parseLinkLine(l));
      await mon;
    },
  };
}

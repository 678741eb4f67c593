// DHCP client driver: busybox udhcpc in the foreground, reporting leases as JSON lines through a hook script.
// udhcpc only tells; the agent itself puts the address and routes in place (in the uplink's own table).
import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

export interface Lease {
  address: string;
  prefix: number;
  router: string;
  leaseSeconds: number;
}

export type DhcpEvent = { type: 'dhcp.bound'; lease: Lease } | { type: 'dhcp.lost'; why: string };

export interface DhcpRunOptions {
  /** Ask for this address first (the lease a new agent process found on the interface). */
  requestAddress?: string;
}

export interface DhcpDriver {
  /** Runs a DHCP client on the interface until the signal aborts; every lease change is reported. */
  run(ifname: string, onEvent: (ev: DhcpEvent) => void, signal: AbortSignal, opts?: DhcpRunOptions): Promise<void>;
}

/** udhcpc's arguments (pure). -f foreground, -t/-T/-A: 3 discovers 1 s apart, then retry after 1 s; -S no syslog;
 *  -p a pidfile, so a client left by an agent that was killed is found and stopped; -r the address to ask for. */
export function udhcpcArgs(ifname: string, script: string, pidfile: string, opts: DhcpRunOptions = {}): string[] {
  return ['-f', '-i', ifname, '-s', script, '-t', '3', '-T', '1', '-A', '1', '-S', '-p', pidfile, ...(opts.requestAddress ? ['-r', opts.requestAddress] : [])];
}

/** Stops the udhcpc a killed agent left on this interface (its pidfile names it; only if it is that udhcpc). */
export async function stopStaleClient(pidfile: string, ifname: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number((await readFile(pidfile, 'utf8')).trim());
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 1) return false;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const argv = cmdline.split('\0');
  if (!argv[0]?.endsWith('udhcpc') || argv[argv.indexOf('-i') + 1] !== ifname) return false;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false;
  }
  return true;
}

const HOOK = `#!/bin/sh
# roamlink: udhcpc reports its state as one JSON line; the agent configures the interface itself.
printf '{"event":"%s","ip":"%s","mask":"%s","router":"%s","lease":"%s"}\\n' "$1" "$ip" "$mask" "$router" "$lease"
`;

/** Parses one hook line into an event (pure). */
export function parseHookLine(line: string): DhcpEvent | null {
  let v: { event?: string; ip?: string; mask?: string; router?: string; lease?: string } | null;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  switch (v.event) {
    case 'bound':
    case 'renew': {
      // An empty $mask (no subnet option) must not become a /0: Number('') is 0.
      const prefix = /^\d{1,2}$/.test(v.mask ?? '') ? Number(v.mask) : NaN;
      const router = (v.router ?? '').split(' ')[0] ?? '';
      if (!v.ip || !(prefix >= 1 && prefix <= 32) || !router) return { type: 'dhcp.lost', why: `incomplete lease: ${line}` };
      return { type: 'dhcp.bound', lease: { address: v.ip, prefix, router, leaseSeconds: Number(v.lease) || 0 } };
    }
    case 'deconfig':
    case 'leasefail':
    case 'nak':
      return { type: 'dhcp.lost', why: v.event };
    default:
      return null;
  }
}

export function udhcpcPidfile(runDir: string, ifname: string): string {
  return join(runDir, `udhcpc.${ifname}.pid`);
}

export function createUdhcpcDriver(runDir: string): DhcpDriver {
  let hookPath: Promise<string> | undefined;
  const hook = () =>
    (hookPath ??= (async () => {
      await mkdir(runDir, { recursive: true });
      const p = join(runDir, 'udhcpc.hook');
      await writeFile(p, HOOK, { mode: 0o755 });
      return p;
    })());
  return {
    async run(ifname, onEvent, signal, opts) {
      const script = await hook();
      const pidfile = udhcpcPidfile(runDir, ifname);
      await stopStaleClient(pidfile, ifname);
      const child = execa('udhcpc', udhcpcArgs(ifname, script, pidfile, opts), {
        reject: false, cancelSignal: signal, buffer: false, stdin: 'ignore', stderr: 'ignore', env: { LC_ALL: 'C' },
      });
      if (child.stdout) {
        createInterface({ input: child.stdout }).on('line', (line) => {
          const ev = parseHookLine(line);
          if (ev) onEvent(ev);
        });
      }
      await child;
    },
  };
}

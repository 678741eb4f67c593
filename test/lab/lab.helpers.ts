// Helpers of the lab tests: scenario paths, the agent's switch log lines, what the lab left behind, probes (UDP echo, TCP).
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { run } from '../../shared/exec.js';

export const scenarioPath = (name: string) => fileURLToPath(new URL(`../../../test/lab/scenarios/${name}`, import.meta.url));

/** The agent's `switch` log lines (JSON), as the switch log will ship them. */
export function switchLines(agentLog: string[]): Array<Record<string, unknown> & { reason: string; to: string; from: string | null; why?: { rule: string; text: string; site: string | null; policy: Record<string, unknown> | null; candidates: Array<Record<string, unknown> & { ap?: { ssid: string; bssid: string } | null }> }; site?: string | null }> {
  return agentLog.flatMap((l) => {
    try {
      const v = JSON.parse(l) as Record<string, unknown>;
      return v.event === 'switch' ? [v as never] : [];
    } catch {
      return [];
    }
  });
}

/**
 * What this process's labs left behind (every test must tear its lab down, even when it fails): their namespaces,
 * wireguard-go's control sockets under /run/wireguard, and wireguard-go processes still running. Lab names and
 * WireGuard interface names all start rl<pid><letter> (lab/topology.ts). A wireguard-go the lab killed can linger as
 * a zombie until init reaps it (it detached: not our child); a zombie has no command line, so it is not counted.
 */
export async function labLeftovers(): Promise<string[]> {
  const mine = new RegExp(`^rl${process.pid}[a-z]`);
  const namespaces = (await run(['ip', 'netns', 'list'], { allowFail: true })).stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => mine.test(n));
  const sockets = (await readdir('/run/wireguard').catch(() => [] as string[])).filter((f) => mine.test(f));
  const wireguardGo: string[] = [];
  for (const pid of (await readdir('/proc')).filter((d) => /^\d+$/.test(d))) {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv[0]?.endsWith('wireguard-go') && argv.slice(1).some((a) => mine.test(a))) wireguardGo.push(pid);
  }
  return [...namespaces.map((n) => `namespace ${n}`), ...sockets.map((f) => `/run/wireguard/${f}`), ...wireguardGo.map((pid) => `wireguard-go pid ${pid}`)];
}

/**
 * Packets lost from `fromMs` (scenario clock) on, both directions. On a loaded box the lab may lose the first few
 * hundred ms of a run's traffic, before any fault (seen on main too, 2026-12): that loss is not the restart's.
 */
export function lostFrom(report: { traffic: { pps: number }; directions?: unknown }, fromMs: number): number {
  const spacing = 1000 / report.traffic.pps;
  let n = 0;
  for (const d of (report.directions ?? []) as Array<{ lost_runs: Array<[number, number, number]> }>) {
    for (const [first, count] of d.lost_runs) n += Math.max(0, Math.min(count, first + count - Math.ceil(fromMs / spacing)));
  }
  return n;
}

const PROBE = fileURLToPath(new URL('../../agent/drivers/probe/udp.probe.js', import.meta.url));

/**
 * Which of `targets` answer a probe sent from namespace `ns`, from its address `from` (the agent's own prober,
 * agent/drivers/probe/udp.probe.ts): up to `tries` probes of 300 ms each per target. One process for all, niced, so
 * that the check takes as little CPU as it can from the lab it looks at.
 */
export async function echoAnswersFrom(ns: string, from: string, targets: Array<{ address: string; port: number }>, tries = 3): Promise<boolean[]> {
  const code = `import { probeOnce } from ${JSON.stringify(PROBE)};
const out = [];
for (const t of ${JSON.stringify(targets)}) {
  let ok = false;
  for (let i = 0; i < ${tries} && !ok; i++) {
    try { await probeOnce(${JSON.stringify(from)}, t, AbortSignal.timeout(300)); ok = true; } catch {}
  }
  out.push(ok);
}
console.log(JSON.stringify(out));`;
  const r = await run(['nice', '-n', '10', process.execPath, '--input-type=module', '-e', code], { netns: ns });
  return JSON.parse(r.stdout.trim()) as boolean[];
}

/** A TCP connection from `ns` to `host:port`, 2 s at most: 'open', 'refused' or 'timeout' (dropped). */
export async function tcpFrom(ns: string, host: string, port: number): Promise<'open' | 'refused' | 'timeout'> {
  const r = await run(['timeout', '2', 'bash', '-c', `exec 3<>/dev/tcp/${host}/${port}`], { netns: ns, allowFail: true });
  return r.exitCode === 0 ? 'open' : r.exitCode === 124 ? 'timeout' : 'refused';
}

/**
 * Stops a namespace's wireguard-go (SIGSTOP) for `ms`, then lets it run again (SIGCONT, whatever happens in between):
 * that machine's WireGuard stalled, as a loaded machine's process or a delivery stall on the way makes it. Resolves once
 * it runs again, with when it stopped (the caller's clock) and for how long.
 */
export async function stallWireguard(ns: string, ms: number, now: () => number): Promise<{ at: number; ms: number }> {
  const { readFile } = await import('node:fs/promises');
  const pids = (await run(['ip', 'netns', 'pids', ns])).stdout.split(/\s+/).filter(Boolean).map(Number);
  const comms = await Promise.all(pids.map((p) => readFile(`/proc/${p}/comm`, 'utf8').then((c) => c.trim(), () => '')));
  const pid = pids.find((_, i) => comms[i] === 'wireguard-go');
  if (pid === undefined) throw new Error(`no wireguard-go in ${ns}`);
  const at = now();
  process.kill(pid, 'SIGSTOP');
  try {
    // A timer may fire a fraction of a ms early on this clock (libuv dates it from its loop's cached time): the stall
    // lasts `ms` at least (a CI on a clean clone of a83fc59 measured 199.8 ms of 200).
    while (now() - at < ms) await new Promise((r) => setTimeout(r, Math.max(1, Math.ceil(ms - (now() - at)))));
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  return { at, ms: now() - at };
}

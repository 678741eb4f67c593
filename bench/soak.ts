// bench/soak (issue 10 item 7): SOAK_EVENTS random events (link flaps, blackholes, agent kills, HQ restarts and kills,
// operator switches), drawn from a seeded generator, in one lab run with traffic both ways; then: did anything crash,
// what did the teardown leave (namespaces, processes, /run/wireguard sockets, nft tables, ip rules, routes), and the
// agent's and HQ's RSS first and last. Not in CI (1,000 events take ~13 min): `npm run bench:soak`.
// Knobs: SOAK_EVENTS (1000), SOAK_SEED (20261203), SOAK_GAP_MS (mean time between events, 750), SOAK_PPS (50).
//   sudo node dist/bench/soak.js
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../shared/exec.js';
import { parseScenario, type Fault } from '../shared/scenario.js';
import { runScenario } from '../lab/runner.js';
import { seeded } from '../shared/rng.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const EVENTS = Number(process.env.SOAK_EVENTS ?? 1000);
const SEED = Number(process.env.SOAK_SEED ?? 20261203);
const GAP_MS = Number(process.env.SOAK_GAP_MS ?? 750);
const PPS = Number(process.env.SOAK_PPS ?? 50);
/** A daemon restarted is given this long before the next restart of either (it must be up to be restarted). */
const RESTART_SPACING_MS = 4000;
const UPLINKS = ['wlan0', 'wlan1', 'wwan0'] as const;

/** `n` events from `seed`: their kinds weighted as a bad day would bring them, restarts spaced so each daemon is up first. */
export function soakFaults(n: number, seed: number, gapMs: number): Fault[] {
  const rnd = seeded(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const faults: Fault[] = [];
  let t = 5000;
  let lastRestart = -Infinity;
  while (faults.length < n) {
    t += Math.round(gapMs * (0.3 + 1.4 * rnd()));
    const r = rnd();
    const uplink = rnd() < 0.5 ? 'active' : pick(UPLINKS);
    const forMs = 300 + Math.round(rnd() * 2700);
    if (r < 0.15 && t - lastRestart >= RESTART_SPACING_MS) {
      faults.push({ kind: 'restart', at: t, target: 'agent', mode: rnd() < 0.5 ? 'kill' : 'graceful' });
      lastRestart = t;
    } else if (r < 0.3 && t - lastRestart >= RESTART_SPACING_MS) {
      faults.push({ kind: 'restart', at: t, target: 'concentrator', mode: rnd() < 0.5 ? 'kill' : 'graceful' });
      lastRestart = t;
    } else if (r < 0.55) faults.push({ kind: 'carrier-loss', at: t, uplink, for: forMs });
    else if (r < 0.8) faults.push({ kind: 'blackhole', at: t, uplink, for: forMs });
    else faults.push({ kind: 'switch', at: t, to: pick(UPLINKS) });
  }
  return faults;
}

/** What this lab run could leave behind, as lines to compare before and after. */
async function footprint(): Promise<Record<string, string[]>> {
  const mine = (s: string) => s.includes(`rl${process.pid}`);
  const lines = async (argv: string[]) => (await run(argv, { allowFail: true })).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const procs: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      // The lab's processes: ours by path (daemons, meters, echo, emulators) or by the run's names (wireguard-go, netns exec).
      if ((cmd.includes(ROOT) && !cmd.includes('bench/soak')) || mine(cmd)) procs.push(`${pid} ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  let sockets: string[] = [];
  try {
    sockets = readdirSync('/run/wireguard').filter(mine);
  } catch {
    // no directory: no socket
  }
  return {
    namespaces: (await lines(['ip', 'netns', 'list'])).filter(mine),
    processes: procs,
    'wireguard sockets': sockets,
    'nft tables': await lines(['nft', 'list', 'tables']),
    'ip rules': await lines(['ip', 'rule', 'show']),
    routes: await lines(['ip', 'route', 'show', 'table', 'all']),
  };
}

async function rssKb(pid: number | undefined): Promise<number | null> {
  if (!pid) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The pid of the process in `ns` whose command line matches `re` (the agent, HQ's daemon), if one runs. */
async function pidIn(ns: string, re: RegExp): Promise<number | undefined> {
  const pids = (await run(['ip', 'netns', 'pids', ns], { allowFail: true })).stdout.split('\n').filter(Boolean);
  for (const p of pids) {
    try {
      if (re.test(readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' '))) return Number(p);
    } catch {
      // gone
    }
  }
  return undefined;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/soak needs root (the lab)');
  const faults = soakFaults(EVENTS, SEED, GAP_MS);
  const durationMs = faults[faults.length - 1]!.at + 6000;
  const kinds = new Map<string, number>();
  for (const f of faults) {
    const k = f.kind === 'restart' ? `${f.target} ${f.mode}` : f.kind;
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  process.stderr.write(`soak: ${EVENTS} events (seed ${SEED}) over ${(durationMs / 1000).toFixed(0)} s at ${PPS} pps each way: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
  const sc = parseScenario(
    {
      name: 'soak',
      duration: durationMs,
      traffic: { pps: PPS, direction: 'both' },
      aps: [
        { ssid: 'depot', bssid: '02:00:00:00:00:01', signal: [[0, -50]] },
        { ssid: 'street-7', bssid: '02:00:00:00:00:02', signal: [[0, -55]] },
      ],
      lte: { signal: [[0, -95]] },
      agent: { initial_uplink: 'wlan0', connect_list: [{ ssid: 'depot', min_signal: -80 }, { ssid: 'street-7', min_signal: -80 }] },
      faults,
    },
    'soak',
  );

  const before = await footprint();
  const started = Date.now();
  const agentPids: number[] = [];
  const rss: { agent: Array<[number, number, number]>; hq: Array<[number, number, number]> } = { agent: [], hq: [] };
  const missing = { hq: 0, agent: 0 };
  const missingMax = { hq: 0, agent: 0 };
  const report = await runScenario(sc, {
    onAgent: (pid) => pid && agentPids.push(pid),
    during: async ({ tNow, topo }) => {
      // Every 5 s: the agent's and HQ's RSS; every second, whether HQ's daemon runs (a crash = long without one).
      let hqPid: number | undefined;
      for (let i = 0; tNow() < durationMs - 1500; i++) {
        hqPid = await pidIn(topo.ns.hq, / hq --config /);
        const agentPid = await pidIn(topo.ns.veh, / agent --config /);
        for (const [k, pid] of [['hq', hqPid], ['agent', agentPid]] as const) {
          missing[k] = pid ? 0 : missing[k] + 1;
          missingMax[k] = Math.max(missingMax[k], missing[k]);
        }
        if (i % 5 === 0) {
          const t = Math.round(tNow() / 1000);
          const a = await rssKb(agentPids[agentPids.length - 1]);
          const h = await rssKb(hqPid);
          if (a !== null) rss.agent.push([t, agentPids[agentPids.length - 1]!, a]);
          if (h !== null) rss.hq.push([t, hqPid!, h]);
        }
        await sleep(1000);
      }
    },
  });
  const tookS = Math.round((Date.now() - started) / 1000);
  await sleep(500);
  const after = await footprint();

  const errs = (report.fault_errors ?? []) as string[];
  const applied = (report.faults ?? []) as Array<{ kind: string; target?: string; mode?: string; lost: number | null; switch?: { reason: string } | null }>;
  const restartsOf = (target: string) => applied.filter((f) => f.kind === 'restart' && f.target === target).length;
  const left: string[] = [];
  for (const [what, now] of Object.entries(after)) {
    const was = new Set(before[what]);
    for (const l of now) if (!was.has(l)) left.push(`${what}: ${l}`);
  }
  const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;
  const firstLast = (xs: Array<[number, number, number]>) =>
    xs.length ? `first ${mb(xs[0]![2])} (t=${xs[0]![0]} s, pid ${xs[0]![1]}), last ${mb(xs[xs.length - 1]![2])} (t=${xs[xs.length - 1]![0]} s, pid ${xs[xs.length - 1]![1]}), max ${mb(Math.max(...xs.map((x) => x[2])))}` : 'no sample';
  // The longest-lived agent process: its own first and last (a restart starts a new process, and its RSS afresh).
  const byPid = new Map<number, Array<[number, number, number]>>();
  for (const s of rss.agent) byPid.set(s[1], [...(byPid.get(s[1]) ?? []), s]);
  const longest = [...byPid.values()].sort((a, b) => b.length - a.length)[0] ?? [];
  const crashes = agentPids.length - 1 - restartsOf('agent');
  const out = [
    `bench/soak: ${EVENTS} events, seed ${SEED}, ${PPS} pps each way, ${(durationMs / 1000).toFixed(0)} s of scenario, ${tookS} s in all`,
    `events applied: ${applied.length} of ${faults.length}; lab errors applying them: ${errs.length}${errs.length ? ` (first: ${errs[0]})` : ''}`,
    `traffic: sent ${report.traffic.sent}, received ${report.traffic.received}, lost ${report.traffic.lost} (${((100 * report.traffic.lost) / Math.max(1, report.traffic.sent)).toFixed(2)} %), longest gap ${report.traffic.max_gap_ms} ms; switches ${report.switches.length}`,
    `restarts: agent ${restartsOf('agent')} (lost in them: ${applied.filter((f) => f.kind === 'restart' && f.target === 'agent').reduce((s, f) => s + (f.lost ?? 0), 0)}), concentrator ${restartsOf('concentrator')} (lost: ${applied.filter((f) => f.kind === 'restart' && f.target === 'concentrator').reduce((s, f) => s + (f.lost ?? 0), 0)})`,
    `crash: agent processes started ${agentPids.length} = 1 + ${restartsOf('agent')} restarts${crashes === 0 ? '' : ` + ${crashes} UNEXPLAINED`}; longest without a process: agent ${missingMax.agent} s, HQ's daemon ${missingMax.hq} s${Math.max(missingMax.agent, missingMax.hq) > 10 ? ' (CRASHED?)' : ''}`,
    `agent RSS: ${firstLast(rss.agent)}; the longest-lived agent process: ${firstLast(longest)}`,
    `HQ RSS: ${firstLast(rss.hq)}`,
    `left after the teardown: ${left.length === 0 ? 'nothing (namespaces, processes, /run/wireguard sockets, nft tables, ip rules, routes checked)' : ''}`,
    ...left.map((l) => `  ${l}`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  if (left.length || crashes !== 0 || Math.max(missingMax.agent, missingMax.hq) > 10) process.exitCode = 1;
}

await main();

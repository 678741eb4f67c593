// bench/hq-restart: how soon a restarted concentrator answers its agents again (issue 10 item 2: within 1 s), and where
// the new process spends that time: exec -> Node ready -> CLI loaded -> config -> daemon modules -> stores -> agents' API.
//
// Root: one network namespace, wireguard-go, BENCH_VEHICLES registered vehicles. Each run is a restart as systemctl does
// it: SIGTERM, wait for the exit, spawn the next daemon; the agents' API (inside the tunnel) is watched from within the
// namespace by lab/answer-watch. Runs alternate between the baseline and this build, in the same process.
// Knobs: BENCH_RUNS (7 each), BENCH_VEHICLES (20), BENCH_BASELINE (a roamlink checkout with dist/ built; default: this
// build with every CLI sub-command and the daemon loaded before the CLI runs, as `roamlink` loaded them up to 2026-12-03).
//   sudo node dist/bench/hq-restart.js
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../shared/exec.js';
import { createWg, wireguardGoSocket } from '../shared/wg.js';
import { loadHqConfig } from '../shared/config/hq.js';
import { openVehicles } from '../concentrator/store/vehicles/open.js';
import { killNetnsPids } from '../lab/topology.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const VEHICLES = Number(process.env.BENCH_VEHICLES ?? 20);
const NS = `rlb-hqr-${process.pid}`;
const IF = `rlr${process.pid}`;
const API = 'http://10.99.0.1:8080/v1/sites';

interface Variant {
  name: string;
  argv: (config: string) => string[];
}

const eager = join(ROOT, 'dist/bench/hq-restart.eager.js');
const variants: Variant[] = [
  process.env.BENCH_BASELINE
    ? { name: `baseline ${process.env.BENCH_BASELINE}`, argv: (c) => ['node', join(process.env.BENCH_BASELINE!, 'bin/roamlink'), 'hq', '--config', c] }
    : { name: 'baseline: everything loaded up front', argv: (c) => ['node', '--import', eager, join(ROOT, 'bin/roamlink'), 'hq', '--config', c] },
  { name: 'this build', argv: (c) => ['node', join(ROOT, 'bin/roamlink'), 'hq', '--config', c] },
];

interface Sample {
  /** SIGTERM to the old process's exit. */
  stop: number;
  /** The spawn to the agents' API answering a request (watched). */
  back: number;
  /** SIGTERM to the agents' API answering again: what an agent sees. */
  gap: number;
  /** The new process's own marks, from the spawn (exec = the process began). */
  marks: Record<string, number>;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};

function startDaemon(v: Variant, config: string, log: string[]): ChildProcess {
  const d = spawn('ip', ['netns', 'exec', NS, ...v.argv(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const s of [d.stdout!, d.stderr!]) s.on('data', (c: Buffer) => log.push(...c.toString().split('\n').filter(Boolean)));
  return d;
}

function exited(p: ChildProcess, ms: number): Promise<boolean> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(true);
  return Promise.race([new Promise<boolean>((r) => p.once('exit', () => r(true))), sleep(ms, false, { ref: false })]);
}

async function waitLine(log: string[], what: string, ms: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const line = log.find((l) => l.includes(what));
    if (line) return JSON.parse(line) as Record<string, unknown>;
    if (Date.now() > deadline) throw new Error(`no ${what} line within ${ms} ms:\n${log.join('\n')}`);
    await sleep(20);
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/hq-restart needs root (a network namespace, WireGuard)');
  const dir = mkdtempSync(join(tmpdir(), 'rlb-hqr-'));
  const wg = createWg();
  let daemon: ChildProcess | null = null;
  try {
    await run(['ip', 'netns', 'add', NS]);
    await run(['ip', '-n', NS, 'link', 'set', 'dev', 'lo', 'up']);
    writeFileSync(join(dir, 'hq.key'), `${await wg.genKey()}\n`, { mode: 0o600 });
    const config = join(dir, 'hq.yaml');
    writeFileSync(config, [`interface: ${IF}`, 'private_key_file: hq.key', 'tunnel_network: 10.99.0.0/24', 'state_dir: state', 'control_socket: hq.sock', 'lan_subnets: [192.168.50.0/24]', ''].join('\n'));
    const { close, vehicles } = await openVehicles(await loadHqConfig(config));
    for (let i = 0; i < VEHICLES; i++) await vehicles.add({ name: `v${i}`, subnet: `10.20.${i}.0/24`, publicKey: randomBytes(32).toString('base64') });
    await close();

    // The first start creates the interface; every run after it is a restart that adopts it.
    let log: string[] = [];
    daemon = startDaemon(variants[1]!, config, log);
    await waitLine(log, '"concentrator ready"', 30_000);
    const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
    for (let i = 0; i < RUNS * variants.length; i++) {
      const v = variants[i % variants.length]!;
      await sleep(500);
      const watch = run(['node', join(ROOT, 'dist/lab/answer-watch.js'), '--api', API, '--for', '6000'], { netns: NS });
      await sleep(1000); // the watcher sees the API answering before the restart
      const termAt = Date.now();
      daemon.kill('SIGTERM');
      if (!(await exited(daemon, 10_000))) throw new Error(`the daemon did not exit on SIGTERM:\n${log.join('\n')}`);
      const spawnAt = Date.now();
      log = [];
      daemon = startDaemon(v, config, log);
      const ready = await waitLine(log, '"concentrator ready"', 20_000);
      const seen = JSON.parse((await watch).stdout.trim()) as { api: { answers: number; max_gap_ms: number; gap_from: number | null } };
      if (seen.api.gap_from === null) throw new Error(`the watcher saw no gap: ${JSON.stringify(seen)}`);
      const backAt = seen.api.gap_from + seen.api.max_gap_ms;
      const m = ready.startup as Record<string, number>;
      const exec = m.origin! - spawnAt;
      const marks: Record<string, number> = { exec };
      for (const [k, t] of Object.entries(m)) if (k !== 'origin') marks[k] = exec + t;
      samples.get(v.name)!.push({ stop: spawnAt - termAt, back: backAt - spawnAt, gap: backAt - termAt, marks });
      process.stderr.write(`run ${i + 1}/${RUNS * variants.length} ${v.name}: stop ${spawnAt - termAt} ms, API back ${backAt - spawnAt} ms after the spawn (${backAt - termAt} after SIGTERM); marks ${JSON.stringify(marks)}\n`);
    }

    // The table: medians per variant, ratio against the baseline.
    const cols: Array<[string, (s: Sample) => number | undefined]> = [
      ['SIGTERM -> exit', (s) => s.stop],
      ['spawn -> exec', (s) => s.marks.exec],
      ['-> Node ready', (s) => s.marks.node],
      ['-> CLI loaded', (s) => s.marks.cli],
      ['-> config read', (s) => s.marks.config],
      ['-> daemon modules', (s) => s.marks.modules],
      ['-> stores open', (s) => s.marks.store],
      ["-> agents' API listening", (s) => s.marks.api],
      ['-> ready (reconciled)', (s) => s.marks.ready],
      ["spawn -> API answers (watched)", (s) => s.back],
      ["SIGTERM -> API answers (watched)", (s) => s.gap],
    ];
    const base = samples.get(variants[0]!.name)!;
    const lines = [`bench/hq-restart: ${RUNS} restarts each, ${VEHICLES} vehicles, medians in ms (ratio to the baseline); load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`, ''];
    lines.push(`| | ${variants.map((v) => v.name).join(' | ')} |`, `|---|${variants.map(() => '---').join('|')}|`);
    for (const [label, f] of cols) {
      const b = median(base.map(f).filter((x): x is number => x !== undefined));
      const cells = variants.map((v) => {
        const m = median(samples.get(v.name)!.map(f).filter((x): x is number => x !== undefined));
        return Number.isNaN(m) ? '-' : v === variants[0] ? `${Math.round(m)}` : `${Math.round(m)} (${(m / b).toFixed(2)})`;
      });
      lines.push(`| ${label} | ${cells.join(' | ')} |`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
      daemon.kill('SIGUSR2'); // a stop for good: the interface and the probe echo go too
      if (!(await exited(daemon, 10_000))) daemon.kill('SIGKILL');
    }
    await wg.deleteInterface(IF, { netns: NS }).catch(() => {});
    await killNetnsPids(NS);
    await run(['ip', 'netns', 'del', NS], { allowFail: true });
    rmSync(wireguardGoSocket(IF), { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

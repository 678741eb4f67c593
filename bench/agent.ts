// bench/agent: the agent's memory and CPU in steady state with three uplinks ready (two radios, LTE), measured from
// /proc over a steady minute in the lab, against the issue's goals (RSS <= 80 MB, CPU <= 2% of a core), with an idle
// `node -e` process measured the same way in the same run as a baseline.
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { parseScenario } from '../shared/scenario.js';
import { runScenario } from '../lab/runner.js';
import { AGENT_NODE_FLAGS, labAgentNodeArgs } from '../shared/runtime.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { driveSize } from '../agent/drive/size.js';
import { writeFile } from 'node:fs/promises';
import { DriveLineWriter, parseDrive, type DriveHeader } from '../shared/wire/drive.js';
import { startLoopbackHq, type ShippedBytes } from './drive.loopback.js';
import { DriveShipper, DEFAULT_DRIVE_SHIP } from '../agent/ship/drive.shipper.js';
import { realClock } from '../shared/clock.js';

/**
 * The steady span's drive shipped as the agent ships it (DriveShipper, the agents' API client) to the agents' API and
 * drives store over loopback: the pieces, their bodies, and every byte on the TCP connection both ways, with the
 * tunnel's per-packet overhead added (packets: the request's and the reply's segments, plus two bare ACKs).
 */
async function shippedOverLoopback(text: string, fromWall: number, toWall: number, pieceMs: number): Promise<ShippedBytes> {
  const seg = parseDrive(text).at(-1)!;
  // The span's lines as the recorder writes them (its first line with its t), in pieces of pieceMs of drive time:
  // the file grows by one piece, the shipper ships it, and so on (as the agent ships every pieceMs).
  const writer = new DriveLineWriter();
  const header = writer.text({ ...seg.header, origin_wall: undefined, until_wall: undefined } as DriveHeader);
  const pieceTexts: string[] = [];
  for (const e of seg.events) {
    const wall = seg.header.start_wall + e.t;
    if (wall < fromWall || wall >= toWall) continue;
    const i = Math.floor((wall - fromWall) / pieceMs);
    pieceTexts[i] = (pieceTexts[i] ?? '') + writer.text(e);
  }
  const dir = await mkdtemp(join(tmpdir(), 'bench-ship-'));
  const file = join(dir, 'drive-bench.jsonl');
  const hq = await startLoopbackHq(seg.header.vehicle);
  const shipper = new DriveShipper({ dir, onLte: () => true, clock: realClock, policy: { lteBytesPerDay: Number.MAX_SAFE_INTEGER }, send: hq.send });
  let written = header;
  for (const p of pieceTexts) {
    written += p ?? '';
    await writeFile(file, written);
    await shipper.flush();
  }
  await shipper.stop();
  const shipped = hq.shipped();
  await hq.close();
  await rm(dir, { recursive: true, force: true });
  return shipped;
}

const MEASURE_MS = Number(process.env.BENCH_AGENT_MS ?? 60_000);
const WARMUP_MS = 5000;
const PPS = Number(process.env.BENCH_AGENT_PPS ?? 1000);
const GOAL_RSS_MB = 80;
const GOAL_CPU_PCT = 2;
/** Issue 11: the drive a vehicle records and ships, at most 2 MB (2,000,000 bytes) a day on LTE, overhead included. */
const GOAL_DRIVE_BYTES_PER_DAY = 2_000_000;

/** CPU seconds (user + system) and RSS of a process, from /proc/<pid>/stat and /proc/<pid>/status (pure parsers below). */
interface Sample {
  at: number;
  cpuTicks: number;
  /** The main (JavaScript) thread's share; the rest is V8's GC helpers and libuv's thread pool. */
  mainTicks: number;
  /** Of cpuTicks, the kernel's (stime): syscalls, and in the lab the veth and pty work they set off. */
  sysTicks: number;
  rssKb: number;
}

/** utime + stime (fields 14 and 15) of /proc/<pid>/stat; the command name in parentheses may hold spaces. */
export function parseStatTicks(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): utime is field 14, stime field 15.
  return Number(rest[11]) + Number(rest[12]);
}

/** stime (field 15) alone. */
export function parseStatSysTicks(stat: string): number {
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[12]);
}

export function parseRssKb(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) : NaN;
}

async function sample(pid: number): Promise<Sample> {
  const [stat, status, main] = await Promise.all([
    readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8'), readFile(`/proc/${pid}/task/${pid}/stat`, 'utf8'),
  ]);
  return { at: performance.now(), cpuTicks: parseStatTicks(stat), mainTicks: parseStatTicks(main), sysTicks: parseStatSysTicks(stat), rssKb: parseRssKb(status) };
}

/** Where a process's RSS is (pure, over /proc/<pid>/smaps): the node binary's pages, anonymous memory (V8's heap
 *  and the like), malloc's heap, native add-ons, the rest; in MB. */
export function rssBreakdown(smaps: string): Record<string, number> {
  const out: Record<string, number> = {};
  let where = 'other';
  for (const line of smaps.split('\n')) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      const path = m[1]!.trim();
      where = path === '' ? 'anonymous (V8 heap, buffers)' : path === '[heap]' ? 'malloc heap' : /\/node$/.test(path) ? 'node binary' : path.endsWith('.node') ? 'native add-ons' : 'other';
      continue;
    }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r) out[where] = (out[where] ?? 0) + Number(r[1]) / 1024;
  }
  return out;
}

async function childrenOf(pid: number): Promise<number[]> {
  const r = await execa('pgrep', ['-P', String(pid)], { reject: false });
  return String(r.stdout).split('\n').filter(Boolean).map(Number);
}

async function clkTck(): Promise<number> {
  const r = await execa('getconf', ['CLK_TCK'], { reject: false });
  return Number(String(r.stdout).trim()) || 100;
}

interface Measured {
  cpuPct: number;
  sysCpuPct: number;
  mainCpuPct: number;
  rssMbMax: number;
  rssMbEnd: number;
}

/** Samples a process every second for `ms`; CPU % of one core over the whole span, RSS max and last. */
async function measure(pid: number, ms: number, tck: number, extra: () => Promise<number[]> = async () => []): Promise<{ main: Measured; extraCpuPct: number }> {
  const first = await sample(pid);
  const extraStart = new Map<number, number>();
  for (const p of await extra()) extraStart.set(p, (await sample(p).catch(() => null))?.cpuTicks ?? 0);
  let last = first;
  let rssMax = first.rssKb;
  const until = first.at + ms;
  while (performance.now() < until) {
    await new Promise((r) => setTimeout(r, Math.min(1000, until - performance.now())));
    last = await sample(pid);
    rssMax = Math.max(rssMax, last.rssKb);
  }
  let extraTicks = 0;
  for (const [p, t0] of extraStart) {
    const s = await sample(p).catch(() => null);
    if (s) extraTicks += s.cpuTicks - t0;
  }
  const secs = (last.at - first.at) / 1000;
  return {
    main: { cpuPct: ((last.cpuTicks - first.cpuTicks) / tck / secs) * 100, sysCpuPct: ((last.sysTicks - first.sysTicks) / tck / secs) * 100, mainCpuPct: ((last.mainTicks - first.mainTicks) / tck / secs) * 100, rssMbMax: rssMax / 1024, rssMbEnd: last.rssKb / 1024 },
    extraCpuPct: (extraTicks / tck / secs) * 100,
  };
}

/** The steady scenario: two Wi-Fi APs and LTE, all ready, PPS each way through the tunnel, for the warm-up and the span. */
function steadyScenario() {
  const duration = WARMUP_MS + MEASURE_MS + 2000;
  return parseScenario({
    name: 'bench-agent', duration, traffic: { pps: PPS, direction: 'both' },
    aps: [
      { ssid: 'depot', bssid: '02:00:00:00:00:01', signal: [[0, -58], [duration, -60]] },
      { ssid: 'street-7', bssid: '02:00:00:00:00:02', signal: [[0, -62], [duration, -61]] },
    ],
    lte: { signal: [[0, -95]] },
    agent: { initial_uplink: 'wlan0', connect_list: [{ ssid: 'depot', min_signal: -80 }, { ssid: 'street-7', min_signal: -80 }] },
  }, 'bench-agent');
}

/** The agent's CPU and RSS over the steady span of one run with these Node flags. */
async function measureRun(flags: readonly string[], tck: number): Promise<{ main: Measured; extraCpuPct: number; lost: number }> {
  let agentPid: number | undefined;
  let result: { main: Measured; extraCpuPct: number } | null = null;
  let measuring: Promise<void> | null = null;
  const report = await runScenario(steadyScenario(), {
    agentNodeFlags: flags,
    onAgent: (pid) => (agentPid = pid),
    onClockStart: (t0) => {
      measuring = (async () => {
        await new Promise((r) => setTimeout(r, Math.max(0, t0 - (performance.timeOrigin + performance.now())) + WARMUP_MS));
        if (!agentPid) throw new Error('no agent pid');
        const pid = agentPid;
        result = await measure(pid, MEASURE_MS, tck, () => childrenOf(pid));
      })();
    },
  });
  await measuring;
  if (!result) throw new Error('nothing measured');
  return { ...(result as { main: Measured; extraCpuPct: number }), lost: report.traffic.lost };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * BENCH_AGENT_FLAGS=compare: the agent with Node's defaults (the baseline), with the unit's flags (AGENT_NODE_FLAGS)
 * and with any BENCH_AGENT_ALSO sets, BENCH_AGENT_RUNS runs each (default 3), alternating so that the machine's load
 * falls on all alike; medians, and each set's ratio to the defaults.
 */
async function compareFlags(): Promise<void> {
  const tck = await clkTck();
  const runs = Number(process.env.BENCH_AGENT_RUNS ?? 3);
  // BENCH_AGENT_ALSO: more sets of flags to try, separated by ';' (e.g. '--max-semi-space-size=1 --single-threaded-gc').
  const also = (process.env.BENCH_AGENT_ALSO ?? '').split(';').map((s) => s.trim()).filter(Boolean);
  const configs: Array<{ name: string; flags: readonly string[] }> = [
    { name: "Node's defaults (baseline)", flags: [] },
    { name: `${AGENT_NODE_FLAGS.join(' ')} (the unit's)`, flags: AGENT_NODE_FLAGS },
    ...also.map((s) => ({ name: s, flags: s.split(/\s+/) })),
  ];
  console.log(`bench/agent flags: the agent over ${MEASURE_MS / 1000} s of steady state (after ${WARMUP_MS / 1000} s), three uplinks ready, ${PPS} packets/s each way; Node ${process.version}; ${runs} run(s) of each, alternating; medians`);
  const got = configs.map(() => [] as Array<{ main: Measured; extraCpuPct: number; lost: number }>);
  for (let i = 0; i < runs; i++) {
    for (const [k, c] of configs.entries()) {
      const r = await measureRun(c.flags, tck);
      got[k]!.push(r);
      console.log(`  run ${i + 1} ${c.name}: CPU ${r.main.cpuPct.toFixed(2)} % (main thread ${r.main.mainCpuPct.toFixed(2)} %), RSS max ${r.main.rssMbMax.toFixed(1)} MB, lost ${r.lost}`);
    }
  }
  const med = got.map((rs) => ({ cpu: median(rs.map((r) => r.main.cpuPct)), main: median(rs.map((r) => r.main.mainCpuPct)), rss: median(rs.map((r) => r.main.rssMbMax)), end: median(rs.map((r) => r.main.rssMbEnd)) }));
  const base = med[0]!;
  console.log(`${'node flags'.padEnd(62)} ${'CPU'.padStart(8)} ${'main thr.'.padStart(10)} ${'RSS max'.padStart(10)} ${'RSS end'.padStart(10)}  ratio CPU, RSS max`);
  for (const [k, c] of configs.entries()) {
    const m = med[k]!;
    console.log(`${c.name.padEnd(62)} ${m.cpu.toFixed(2).padStart(6)} % ${m.main.toFixed(2).padStart(8)} % ${m.rss.toFixed(1).padStart(7)} MB ${m.end.toFixed(1).padStart(7)} MB  ${(m.cpu / base.cpu).toFixed(2)}, ${(m.rss / base.rss).toFixed(2)}`);
  }
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('bench/agent needs root (the lab)');
  if (process.env.BENCH_AGENT_FLAGS === 'compare') return compareFlags();
  const tck = await clkTck();
  const sc = steadyScenario();
  console.log(`bench/agent: the agent over ${MEASURE_MS / 1000} s of steady state (after ${WARMUP_MS / 1000} s), three uplinks ready, ${PPS} packets/s each way through the tunnel; baseline: an idle \`node -e\` measured alongside`);
  console.log(`the agent runs as its systemd unit runs it: node ${[...AGENT_NODE_FLAGS, ...labAgentNodeArgs()].join(' ')} (shared/runtime.ts)`);

  let agentPid: number | undefined;
  let result: { main: Measured; extraCpuPct: number } | null = null;
  let baseline: { main: Measured } | null = null;
  let measuring: Promise<void> | null = null;
  let smaps: string | null = null;
  let idleSmaps: string | null = null;
  const idle = execa(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { reject: false, stdin: 'ignore' });
  const driveDir = await mkdtemp(join(tmpdir(), 'bench-drive-'));
  const driveFile = join(driveDir, 'drive.jsonl');
  let window: [number, number] = [0, 0];
  try {
    const report = await runScenario(sc, {
      drive: driveFile,
      onAgent: (pid) => (agentPid = pid),
      onClockStart: (t0) => {
        measuring = (async () => {
          await new Promise((r) => setTimeout(r, Math.max(0, t0 - (performance.timeOrigin + performance.now())) + WARMUP_MS));
          window = [t0 + WARMUP_MS, t0 + WARMUP_MS + MEASURE_MS];
          if (!agentPid) throw new Error('no agent pid');
          const pid = agentPid;
          [result, baseline] = await Promise.all([
            measure(pid, MEASURE_MS, tck, () => childrenOf(pid)),
            measure(idle.pid!, MEASURE_MS, tck),
          ]);
          [smaps, idleSmaps] = await Promise.all([readFile(`/proc/${pid}/smaps`, 'utf8').catch(() => null), readFile(`/proc/${idle.pid}/smaps`, 'utf8').catch(() => null)]);
        })();
      },
    });
    await measuring;
    if (!result || !baseline) throw new Error('nothing measured');
    const r = result as { main: Measured; extraCpuPct: number };
    const b = baseline as { main: Measured };
    const row = (name: string, m: Measured) => `${name.padEnd(34)} ${m.cpuPct.toFixed(2).padStart(6)} %  ${m.sysCpuPct.toFixed(2).padStart(8)} %  ${m.mainCpuPct.toFixed(2).padStart(10)} %  ${m.rssMbMax.toFixed(1).padStart(7)} MB  ${m.rssMbEnd.toFixed(1).padStart(7)} MB`;
    console.log(`${'process'.padEnd(34)} ${'CPU'.padStart(8)}  ${'of it sys'.padStart(10)}  ${'main thread'.padStart(12)}  ${'RSS max'.padStart(10)}  ${'RSS end'.padStart(10)}`);
    console.log(row('roamlink agent (node)', r.main));
    console.log(row('baseline: idle node -e', b.main));
    console.log(`the agent's own children (ip monitor, udhcpc): ${r.extraCpuPct.toFixed(2)} % CPU together (not counted above)`);
    console.log(`switches during the run: ${report.switches.length}; packets lost: ${report.traffic.lost}`);
    const show = (b: Record<string, number>) => Object.entries(b).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
    if (smaps) console.log(`the agent's RSS at the end, MB: ${show(rssBreakdown(smaps))}`);
    if (idleSmaps) console.log(`the idle node's, MB: ${show(rssBreakdown(idleSmaps))}`);
    // The drive over the same steady span: bytes a day as whole events (the baseline), change-only as written, and
    // compressed in the pieces a shipper sends: a minute (off LTE) and as long as the span allows (LTE ships every
    // 10 minutes; a lab run may hold the lab for at most ~8, so BENCH_AGENT_MS=420000 gives 7-minute pieces).
    const driveText = await readFile(driveFile, 'utf8');
    const longMs = Math.min(DEFAULT_DRIVE_SHIP.lteIntervalMs, Math.floor(MEASURE_MS / 60_000) * 60_000);
    const d = driveSize(driveText, window[0], window[1], 60_000);
    const dl = driveSize(driveText, window[0], window[1], longMs);
    const mb = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MiB`;
    const bytes = (n: number) => `${Math.round(n).toLocaleString('en')} B`;
    console.log(`drive recorded over the steady span: ${d.lines} lines in ${(d.ms / 1000).toFixed(0)} s (${(d.lines / (d.ms / 1000)).toFixed(1)} lines/s); bytes a day:`);
    console.log(`  ${'whole events (baseline)'.padEnd(40)} ${mb(d.whole_per_day).padStart(11)}  1.00`);
    console.log(`  ${'change-only lines (on disk)'.padEnd(40)} ${mb(d.change_only_per_day).padStart(11)}  ${(d.change_only_per_day / d.whole_per_day).toFixed(4)}`);
    console.log(`  ${'gzip, 1-minute pieces'.padEnd(40)} ${mb(d.gzip_per_day).padStart(11)}  ${(d.gzip_per_day / d.whole_per_day).toFixed(4)}`);
    console.log(`  ${'brotli, 1-minute pieces'.padEnd(40)} ${mb(d.brotli_per_day).padStart(11)}  ${(d.brotli_per_day / d.whole_per_day).toFixed(4)}`);
    console.log(`  ${`brotli, ${longMs / 60_000}-minute pieces`.padEnd(40)} ${mb(dl.brotli_per_day).padStart(11)}  ${(dl.brotli_per_day / d.whole_per_day).toFixed(4)}`);
    // Shipped as the agent ships it, measured on the wire: each piece's HTTP exchange and the tunnel's packets.
    const perDay = 86_400_000 / d.ms;
    const goal = (n: number) => `${bytes(n).padStart(12)} a day  (goal ${bytes(GOAL_DRIVE_BYTES_PER_DAY)}: ${n <= GOAL_DRIVE_BYTES_PER_DAY ? `met, ${(100 * n / GOAL_DRIVE_BYTES_PER_DAY).toFixed(0)} % of it` : 'NOT met'})`;
    for (const pieceMs of [60_000, longMs]) {
      const sh = await shippedOverLoopback(driveText, window[0], window[1], pieceMs);
      const day = (sh.wire + sh.tunnel) * perDay;
      console.log(`shipped in ${pieceMs / 60_000}-minute pieces (DriveShipper -> agents' API over loopback, measured): ${sh.pieces} piece(s), ${sh.body} bytes of brotli, ${sh.wire} bytes on TCP both ways + ${sh.tunnel} of tunnel packets; ${((sh.wire - sh.body + sh.tunnel) / sh.pieces).toFixed(0)} bytes of overhead a piece`);
      console.log(`  drive shipped, ${pieceMs === 60_000 ? 'every minute (off LTE)' : `every ${pieceMs / 60_000} minutes (LTE ships every ${DEFAULT_DRIVE_SHIP.lteIntervalMs / 60_000})`}: ${goal(day)}`);
    }
    console.log(`(the agent's LTE allowance also caps shipping at ${bytes(DEFAULT_DRIVE_SHIP.lteBytesPerDay)} a day whatever the drive; ${PPS} packets/s each way, all day)`);
    const ok = r.main.rssMbMax <= GOAL_RSS_MB && r.main.cpuPct <= GOAL_CPU_PCT;
    console.log(`goal: RSS <= ${GOAL_RSS_MB} MB (${r.main.rssMbMax <= GOAL_RSS_MB ? 'met' : 'NOT met'}), CPU <= ${GOAL_CPU_PCT}% of a core (${r.main.cpuPct <= GOAL_CPU_PCT ? 'met' : 'NOT met'}); above the idle baseline: +${(r.main.cpuPct - b.main.cpuPct).toFixed(2)} % CPU, +${(r.main.rssMbMax - b.main.rssMbMax).toFixed(1)} MB`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    idle.kill('SIGTERM');
    await idle;
    await rm(driveDir, { recursive: true, force: true });
  }
}

await main();

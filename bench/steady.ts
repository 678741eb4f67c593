// bench/steady (issue 13, item 3): the 10-minute steady run on realistic links, with the agent's policy defaults as
// built: no fault at all, so every switch is a false one (goal: 0), and what redundancy's copies cost meanwhile.
// Beside a baseline run in the same process, first: the same scenario on ideal links (veth, nothing emulated) for
// STEADY_BASE_MS. Not in CI (about 12 minutes of lab): `npm run bench:steady`, under the lab lock:
//   flock /tmp/roamlink-lab.lock node dist/bench/steady.js
// Knobs: STEADY_MS (600000), STEADY_BASE_MS (60000), STEADY_REPORT (a directory to write both reports to).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseScenario, type Scenario } from '../shared/scenario.js';
import { runScenario } from '../lab/runner.js';
import { DEFAULT_POLICY } from '../shared/policy.js';
import type { Report } from '../shared/report.js';
import { median } from './baselines.js';

const STEADY_MS = Number(process.env.STEADY_MS ?? 600_000);
const BASE_MS = Number(process.env.STEADY_BASE_MS ?? 60_000);
const REPORT_DIR = process.env.STEADY_REPORT;
const UPLINKS = ['wlan0', 'wlan1', 'wwan0'] as const;

/** steady.yaml's signals (each AP wandering 3-4 dB, within the hysteresis; LTE on standby), repeated every minute for `ms`. */
function steady(name: string, ms: number, links: 'ideal' | 'realistic'): Scenario {
  const wander = (values: number[]) => Array.from({ length: Math.floor(ms / 10_000) + 1 }, (_, i) => [i * 10_000, values[i % values.length]!]);
  return parseScenario({
    name, duration: ms, traffic: { pps: 1000, direction: 'both' },
    aps: [
      { ssid: 'depot', bssid: '02:00:00:00:00:01', signal: wander([-58, -61, -57, -60, -58, -61]), link: links },
      { ssid: 'street-7', bssid: '02:00:00:00:00:02', signal: wander([-62, -60, -63, -61, -62, -60]), link: links },
    ],
    lte: { signal: wander([-95, -93, -90, -92, -96, -94]), link: links },
    agent: {
      initial_uplink: 'wlan0',
      connect_list: [{ ssid: 'depot', min_signal: -80 }, { ssid: 'street-7', min_signal: -80 }],
      watchdog: { hosts: ['10.0.0.10', '10.99.0.1'], interval_ms: 5000, timeout_ms: 1000, failures: 3 },
    },
    faults: [],
  }, name);
}

interface Row {
  links: 'ideal' | 'realistic';
  ms: number;
  report: Report;
  /** Copies' episodes (the agent's redundancy.changed lines): how many began, and ms with copies flowing. */
  episodes: number;
  copyingMs: number;
  why: string[];
  watchdog: string;
}

async function steadyRun(links: 'ideal' | 'realistic', ms: number): Promise<Row> {
  const log: string[] = [];
  let t0 = NaN;
  const report = await runScenario(steady(`bench-steady-${links}`, ms, links), { agentLog: log, onClockStart: (t) => (t0 = t) });
  // Copies on and off, on the run's clock (the agent's log lines carry its wall ms, the lab's clock's origin t0).
  const changes = log.filter((l) => l.includes('"event":"redundancy.changed"')).map((l) => JSON.parse(l) as { time: number; via: string | null; why: string });
  let episodes = 0, copyingMs = 0, since: number | null = null;
  const why = new Set<string>();
  for (const c of changes) {
    const at = Math.min(Math.max(c.time - t0, 0), ms);
    if (c.via && since === null) {
      episodes++;
      since = at;
      why.add(c.why);
    } else if (!c.via && since !== null) {
      copyingMs += at - since;
      since = null;
    }
  }
  if (since !== null) copyingMs += ms - since;
  const wd = log.filter((l) => l.includes('"event":"watchdog.'));
  return { links, ms, report, episodes, copyingMs, why: [...why], watchdog: wd.length === 1 && wd[0]!.includes('"ok":true') ? 'ok' : `${wd.length} lines` };
}

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const mb = (b: number) => fmt(b / 1e6, 2);

function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('bench/steady needs root (the lab)');
  const p = DEFAULT_POLICY;
  console.log(`bench/steady: no fault, 1000 packets/s each way; the agent's policy defaults as built: redundancy ${p.redundancy}, ` +
    `dead_packets ${p.dead_packets} (fast check ${p.dead_packets > 0 ? 'on' : 'off'}), dead_fast_ms ${p.dead_fast_ms}, dead_busy_ms ${p.dead_busy_ms}, risk_signal ${p.risk_signal}`);
  console.log(`baseline: ideal links for ${BASE_MS / 1000} s, then realistic links (Wi-Fi 4±1 ms 0.1 %, LTE 25±8 ms 1 %) for ${STEADY_MS / 1000} s, in this process`);
  const rows = [await steadyRun('ideal', BASE_MS), await steadyRun('realistic', STEADY_MS)];
  if (REPORT_DIR) for (const r of rows) await writeFile(join(REPORT_DIR, `steady-${r.links}.json`), JSON.stringify(r.report, null, 1));

  const perMin = (n: number, ms: number) => (n / ms) * 60_000;
  const lostShare = (r: Row) => r.report.traffic.lost / Math.max(1, r.report.traffic.sent);
  const copyBytes = (r: Row) => UPLINKS.reduce((n, u) => n + (r.report.uplinks?.[u]?.bytes_redundant ?? 0), 0);
  const sentBytes = (r: Row) => UPLINKS.reduce((n, u) => n + (r.report.uplinks?.[u]?.bytes_sent ?? 0), 0);
  const perTunnel = (r: Row) => copyBytes(r) / Math.max(1, sentBytes(r) - copyBytes(r));
  // What the emulated links dropped themselves, both ways, over the run (set-up included): ideal links drop nothing.
  const linkDrops = (r: Row) => (r.report.links ?? []).reduce((n, l) => n + (l.counted ? l.counted.up.dropped + l.counted.down.dropped : 0), 0);
  table(
    ['links', 's', 'switches (all false)', 'per min', 'copy episodes', 's copying', 'wlan0 MB sent/copies', 'wlan1 MB sent/copies', 'wwan0 MB sent/copies', 'copy bytes per tunnel byte', 'lost/sent', 'lost %', 'links dropped', 'max gap ms', 'watchdog'],
    rows.map((r) => [
      r.links, fmt(r.ms / 1000, 0), String(r.report.switches.length), fmt(perMin(r.report.switches.length, r.ms), 2), String(r.episodes), fmt(r.copyingMs / 1000, 1),
      ...UPLINKS.map((u) => `${mb(r.report.uplinks?.[u]?.bytes_sent ?? 0)}/${mb(r.report.uplinks?.[u]?.bytes_redundant ?? 0)}`),
      fmt(perTunnel(r), 4), `${r.report.traffic.lost}/${r.report.traffic.sent}`, fmt(lostShare(r) * 100, 3), String(linkDrops(r)), fmt(r.report.traffic.max_gap_ms, 0), r.watchdog,
    ]),
  );
  const [base, real] = rows as [Row, Row];
  const ratio = (a: number, b: number, unit = (x: number) => fmt(x, 4)) => (b > 0 ? `${(a / b).toFixed(3)}x` : a === 0 ? '0 vs 0' : `${unit(a)} vs 0`);
  const pct = (x: number) => `${fmt(x * 100, 3)} %`;
  console.log(`ratios (realistic / ideal baseline): lost share ${ratio(lostShare(real), lostShare(base), pct)}, copy bytes per tunnel byte ${ratio(perTunnel(real), perTunnel(base))}, ` +
    `switches per minute ${ratio(perMin(real.report.switches.length, real.ms), perMin(base.report.switches.length, base.ms))}, copying share of the run ${ratio(real.copyingMs / real.ms, base.copyingMs / base.ms, pct)}; ` +
    `lost beyond what the links dropped themselves (both ways, set-up included): ${real.report.traffic.lost - linkDrops(real)}`);
  for (const r of rows) {
    for (const s of r.report.switches) console.log(`  false switch (${r.links}): at ${fmt(s.at_ms / 1000, 1)} s ${s.from} -> ${s.to} (${s.reason}), lost ${s.lost}`);
    if (r.why.length) console.log(`  copies began (${r.links}) because: ${r.why.slice(0, 5).join(' | ')}${r.why.length > 5 ? ' ...' : ''}`);
  }
  const gaps = real.report.switches.map((s) => s.gap_ms);
  console.log(`goal (issue 13 item 3): no false switch over the ${real.ms / 60_000}-minute steady run on realistic links: ${real.report.switches.length === 0 ? 'met' : `NOT met (${real.report.switches.length}, median gap ${fmt(median(gaps))} ms)`}`);
}

await main();

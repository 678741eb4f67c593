// deploy/prometheus and deploy/grafana against the real thing: promtool accepts the alert rules and proves each alert
// fires on a small series file; every dashboard query parses as PromQL, and every metric a query or a rule names is one
// a running HQ's /metrics exports (its exposition, scraped with an operator's token).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { parse } from 'yaml';
import { startFleetOps } from '../../concentrator/admin/fleet-ops.js';
import { installAccessGuard } from '../../concentrator/admin/access.js';
import { openStores } from '../../concentrator/store/stores.js';
import { loadHqConfig } from '../../shared/config/hq.js';
import { installErrorHandling } from '../../shared/http/errors.js';
import { createLogger } from '../../shared/log.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RULES = join(ROOT, 'deploy/prometheus/roamlink.rules.yml');
const RULES_TEST = join(ROOT, 'deploy/prometheus/roamlink.rules.test.yml');
const DASHBOARD = join(ROOT, 'deploy/grafana/roamlink-fleet.json');
// Debian's prometheus package ships promtool in /usr/bin (deploy/setup.sh installs it with ROAMLINK_SETUP_TESTS=1).
const PROMTOOL = process.env.ROAMLINK_PROMTOOL ?? '/usr/bin/promtool';
const skip = existsSync(PROMTOOL) ? false : `${PROMTOOL} is absent (ROAMLINK_SETUP_TESTS=1 bash deploy/setup.sh installs Debian's prometheus)`;
if (skip) console.log(`# promtool tests skipped: ${skip}`);

const WG_KEY = 'KPD+e8mvLdOOI+Wl9HYVjuOXj4U/izotj3qE2CZTbUA=';

function promtool(args: string[]): string {
  try {
    return execFileSync(PROMTOOL, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    assert.fail(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

interface Panel { title: string; targets?: Array<{ expr?: string }>; panels?: Panel[] }

/** Every PromQL query of the dashboard: its panels' targets and its template variables. */
function dashboardQueries(): Array<{ where: string; expr: string }> {
  const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[]; templating: { list: Array<{ name: string; query: { query: string } | string }> } };
  const out: Array<{ where: string; expr: string }> = [];
  const walk = (ps: Panel[]) => ps.forEach((p) => {
    for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr });
    walk(p.panels ?? []);
  });
  walk(d.panels);
  for (const v of d.templating.list) {
    const q = typeof v.query === 'string' ? v.query : v.query.query;
    const m = /^label_values\((\w+),\s*\w+\)$/.exec(q);
    out.push({ where: `variable $${v.name}`, expr: m ? m[1]! : q });
  }
  return out;
}

/** Grafana's variables replaced by what they stand for, so promtool can parse the query. */
const concrete = (expr: string) => expr.replace(/\$__rate_interval|\$__interval/g, '5m').replace(/\$\w+/g, '.*');

/**
 * The metric names a PromQL expression reads: identifiers outside label matchers, strings and ranges that are not
 * followed by "(" (functions), not keywords or label names after by/without/on/ignoring. Histogram series name their
 * family (_bucket, _sum, _count).
 */
export function metricNames(expr: string): string[] {
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
  const names = new Set<string>();
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    if (keywords.has(m[0].toLowerCase())) continue;
    const i = m.index!;
    if (i > 0 && /[\w.]/.test(bare[i - 1]!)) continue; // inside a number like 1e6
    if (/^\s*\(/.test(bare.slice(i + m[0].length))) continue; // a function
    names.add(m[0].replace(/_(bucket|sum|count)$/, ''));
  }
  return [...names];
}

test('metricNames: names outside matchers, functions, keywords and grouping', () => {
  const table: Array<[string, string[]]> = [
    ['roamlink_vehicle_online == 0', ['roamlink_vehicle_online']],
    ['sum by (code) (rate(roamlink_agent_api_rejected_total{code!="x"}[5m])) > 0.05', ['roamlink_agent_api_rejected_total']],
    ['histogram_quantile(0.99, sum by (le) (rate(roamlink_ingest_duration_seconds_bucket[5m])))', ['roamlink_ingest_duration_seconds']],
    ['a > 1 and on (vehicle) b == 1', ['a', 'b']],
    ['process_resident_memory_bytes / 1e6', ['process_resident_memory_bytes']],
  ];
  for (const [expr, want] of table) assert.deepEqual(metricNames(expr), want, expr);
});

test('promtool accepts the alert rules, and each alert fires on its series (and not before)', { skip }, () => {
  assert.match(promtool(['check', 'rules', RULES]), /SUCCESS: 7 rules found/);
  assert.match(promtool(['test', 'rules', RULES_TEST]), /SUCCESS/);
  const tested = new Set((parse(readFileSync(RULES_TEST, 'utf8')) as { tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }> })
    .tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length).map((a) => a.alertname)));
  const alerts = (parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string }> }> }).groups.flatMap((g) => g.rules.map((r) => r.alert));
  assert.deepEqual(alerts.filter((a) => !tested.has(a)), [], 'every alert has a test where it fires');
});

test('promtool parses every dashboard query (as recording rules)', { skip }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-grafana-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const qs = dashboardQueries();
  assert.ok(qs.length >= 15, `the dashboard has its queries (${qs.length})`);
  const rules = qs.map((q, i) => `      - record: dashboard:q${i}\n        expr: ${JSON.stringify(concrete(q.expr))}\n`).join('');
  writeFileSync(join(dir, 'q.yml'), `groups:\n  - name: dashboard\n    rules:\n${rules}`);
  assert.match(promtool(['check', 'rules', join(dir, 'q.yml')]), new RegExp(`SUCCESS: ${qs.length} rules found`));
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

test("every metric the dashboard and the rules name is in a running HQ's /metrics, with the per-vehicle series and build info", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-metrics-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hq.key'), `${WG_KEY}\n`, { mode: 0o600 });
  const token = 'metrics-token-0123456789abcdef';
  writeFileSync(join(dir, 'admin.token'), `${token}\n`, { mode: 0o600 });
  mkdirSync(join(dir, 'state'));
  const port = await freePort();
  writeFileSync(join(dir, 'hq.yaml'), ['interface: rl-hq0', 'private_key_file: hq.key', 'tunnel_network: 10.99.0.0/24', 'state_dir: state',
    'control_socket: hq.sock', `admin_listen: 127.0.0.1:${port}`, 'admin_plain_http: true', 'admin_token_file: admin.token', ''].join('\n'));
  const cfg = await loadHqConfig(join(dir, 'hq.yaml'));
  const stores = await openStores(cfg);
  await stores.vehicles.add({ name: 'bus-1', subnet: '10.20.1.0/24', publicKey: WG_KEY.replace('K', 'L') });
  const adminApp = Fastify();
  installErrorHandling(adminApp, { surface: 'test socket' });
  installAccessGuard(adminApp, () => '');
  const ops = await startFleetOps({ cfg: { ...cfg, tunnel_address: '127.0.0.1', agent_api_port: 0 }, stores, log: createLogger({ name: 'hq', level: 'silent' }), adminApp });
  t.after(async () => {
    await adminApp.close();
    await ops.close();
    await stores.close();
  });

  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 401, '/metrics needs the token');
  const exported = new Set([...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1]!));
  for (const line of ['roamlink_vehicle_online{vehicle="bus-1"} 0', 'roamlink_vehicles_registered 1', 'roamlink_vehicle_switches_total{vehicle="bus-1"} 0']) {
    assert.ok(text.includes(`${line}\n`), line);
  }
  assert.match(text, /^roamlink_build_info\{version="\d+\.\d+\.\d+",node="v\d+\.\d+\.\d+",daemon="hq"\} 1$/m);
  assert.match(text, /^process_resident_memory_bytes \d+$/m);
  assert.match(text, /^process_open_fds \d+$/m);

  const named = [
    ...dashboardQueries(),
    ...(parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))),
  ];
  for (const q of named) {
    const names = metricNames(q.expr);
    assert.ok(names.length, `${q.where} names a metric: ${q.expr}`);
    for (const n of names) assert.ok(exported.has(n), `${q.where}: ${n} is not exported by HQ (${q.expr})`);
  }
});

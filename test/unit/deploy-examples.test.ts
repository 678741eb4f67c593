// deploy/examples pass `--check`, broken configs exit 2 naming the field, and enrollment (key, register, apply) works end to end.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseAgentConfig, watchdogSchema } from '../../shared/config/agent.js';
import { DEFAULT_POLICY } from '../../agent/policy/policy.js';
import { DEFAULT_BUDGET } from '../../agent/policy/budget.js';
import { checkHqConfig } from '../../shared/config/hq.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const example = (name: string) => readFileSync(join(ROOT, 'deploy/examples', name), 'utf8');
const noWg = spawnSync('wg', ['--version']).error ? 'wg is not installed (wireguard-tools)' : false;

function run(argv: string[], input?: string) {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input, env: { ...process.env, ROAMLINK_DEBUG: '' } });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
const roamlink = (...args: string[]) => run(['node', join(ROOT, 'bin/roamlink'), ...args]);
const enroll = (...args: string[]) => run(['bash', join(ROOT, 'deploy/enroll-vehicle.sh'), ...args]);

/** A temp dir with the example configs, their key/state paths moved into it, and HQ's key made. */
function site(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'rlt-deploy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const agent = join(dir, 'agent.yaml');
  const hq = join(dir, 'hq.yaml');
  writeFileSync(agent, example('agent.yaml').replaceAll('/etc/roamlink/agent.key', join(dir, 'agent.key')), { mode: 0o640 });
  writeFileSync(hq, example('hq.yaml')
    .replaceAll('/etc/roamlink/hq.key', join(dir, 'hq.key'))
    .replaceAll('/var/lib/roamlink', join(dir, 'state'))
    .replaceAll('/run/roamlink/hq.sock', join(dir, 'hq.sock')));
  if (!noWg) writeFileSync(join(dir, 'hq.key'), run(['wg', 'genkey']).stdout, { mode: 0o600 });
  return { dir, agent, hq };
}

test('the examples parse: a vehicle with two radios and a modem, and HQ', () => {
  const a = parseAgentConfig(parseYaml(example('agent.yaml')));
  assert.deepEqual(a.uplinks.map((u) => `${u.name}:${u.kind}`), ['wlan0:wifi', 'wlan1:wifi', 'wwan0:lte']);
  assert.equal(a.wireguard.private_key_file, '/etc/roamlink/agent.key');
  assert.ok(a.lan && a.connect_list.length > 0);
  const h = checkHqConfig(parseYaml(example('hq.yaml')), 'hq.yaml', '/etc/roamlink');
  assert.equal(h.private_key_file, '/etc/roamlink/hq.key');
  assert.equal(h.state_dir, '/var/lib/roamlink');
  assert.equal(h.tunnel_address, '10.99.0.1');
  // The vehicle's routes to HQ are HQ's LAN, and its LAN is not one of them.
  assert.deepEqual(a.concentrator.routes, h.lan_subnets);
});

test('the example agent config: policy, lte_budget and watchdog show the defaults they say; the watchdog lines left commented out parse when uncommented', () => {
  const text = example('agent.yaml');
  const a = parseAgentConfig(parseYaml(text));
  // Every policy field is in the file, with the policy's default (agent/policy/policy.ts).
  assert.deepEqual(a.policy, { ...DEFAULT_POLICY });
  assert.deepEqual(a.lte_budget, { bytes_per_day: DEFAULT_BUDGET.bytes_per_day, min_interval_ms: DEFAULT_BUDGET.min_interval_ms });
  assert.equal(a.lte_budget.bytes_per_day, 5_000_000, '5 MB, as the comment says');
  // The watchdog's timing at its defaults, and off (no hosts, no DNS check: the agent runs no watchdog then).
  assert.deepEqual(a.watchdog, watchdogSchema.parse({}));
  assert.deepEqual([a.watchdog?.hosts, a.watchdog?.dns], [[], undefined]);
  const on = parseAgentConfig(parseYaml(text.replace('  # hosts: ', '  hosts: ').replace('  # dns: ', '  dns: ')));
  assert.deepEqual(on.watchdog, {
    hosts: ['192.168.10.10', '192.168.10.11'], dns: { name: 'hq.example.net', servers: ['9.9.9.9', '1.1.1.1'] },
    interval_ms: 30_000, timeout_ms: 2000, failures: 3,
  });
  // The hosts are at HQ: inside what the vehicle routes into the tunnel.
  assert.ok(on.watchdog!.hosts.every((h) => h.startsWith('192.168.10.')) && on.concentrator.routes.includes('192.168.10.0/24'));
});

test('--check: the examples exit 0', { skip: noWg }, (t) => {
  const s = site(t);
  const a = roamlink('agent', '--config', s.agent, '--check');
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /ok \(vehicle bus-7, 3 uplinks\)/);
  const h = roamlink('hq', '--config', s.hq, '--check');
  assert.equal(h.code, 0, h.stderr);
});

test('--check: a broken config exits 2 and names the field', { skip: noWg }, (t) => {
  const s = site(t);
  const cases: Array<{ file: string; from: string | RegExp; to: string; field: RegExp }> = [
    { file: s.agent, from: 'public_key: ReplaceWithTheConcentratorsPublicKeyFromHQ0=', to: 'public_key: not-a-key', field: /concentrator\.public_key/ },
    { file: s.agent, from: 'kind: lte', to: 'kind: 5g', field: /uplinks\[2\]\.kind/ },
    { file: s.agent, from: 'endpoint: hq.example.net:51820', to: 'endpoint: hq.example.net', field: /concentrator\.endpoint/ },
    { file: s.agent, from: '  scan_interval_ms: 3000', to: '  scan_interval_ms: 3000\n  scan_intervall_ms: 3000', field: /policy.*scan_intervall_ms/ },
    { file: s.agent, from: '  loss_max: 0.3 ', to: '  loss_max: 3 ', field: /policy\.loss_max/ },
    { file: s.agent, from: '  lte: fallback ', to: '  lte: sometimes ', field: /policy\.lte/ },
    { file: s.agent, from: '  dead_idle_ms: 1200 ', to: '  dead_idle_ms: 300 ', field: /policy\.dead_busy_ms.*must be ≤ dead_idle_ms \(300\)/ },
    { file: s.agent, from: '  bytes_per_day: 5000000 ', to: '  bytes_per_day: -1 ', field: /lte_budget\.bytes_per_day/ },
    { file: s.agent, from: '  min_interval_ms: 2000 ', to: '  min_interval_ms: 2s ', field: /lte_budget\.min_interval_ms/ },
    { file: s.agent, from: '  # hosts: [192.168.10.10, ', to: '  hosts: [hq.example.net, ', field: /watchdog\.hosts\[0\]/ },
    { file: s.agent, from: '  failures: 3 ', to: '  failures: 0 ', field: /watchdog\.failures/ },
    { file: s.hq, from: 'tunnel_network: 10.99.0.0/24', to: 'tunnel_network: 10.99.0.1/24', field: /tunnel_network/ },
    { file: s.hq, from: 'listen_port: 51820', to: 'listen_port: 518200', field: /listen_port/ },
  ];
  for (const c of cases) {
    const good = readFileSync(c.file, 'utf8');
    assert.ok(good.includes(c.from as string), `example changed: ${String(c.from)}`);
    writeFileSync(c.file, good.replace(c.from, c.to));
    const r = roamlink(c.file === s.agent ? 'agent' : 'hq', '--config', c.file, '--check');
    writeFileSync(c.file, good);
    assert.equal(r.code, 2, `${c.to}: ${r.stderr}`);
    assert.match(r.stderr, c.field, c.to);
  }
});

test('enrollment: key on the vehicle, register at HQ, apply on the vehicle; the private key is never printed', { skip: noWg }, (t) => {
  const s = site(t);
  const keyFile = join(s.dir, 'agent.key');
  const key = enroll('key', '--key', keyFile);
  assert.equal(key.code, 0, key.stderr);
  const pub = key.stdout.trim();
  const priv = readFileSync(keyFile, 'utf8').trim();
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  assert.equal(run(['wg', 'pubkey'], priv).stdout.trim(), pub);
  // Again: the key is kept, the same public key printed.
  assert.equal(enroll('key', '--key', keyFile).stdout.trim(), pub);

  const reg = enroll('register', 'bus-7', '--subnet', '10.20.7.0/24', '--pubkey', pub, '--endpoint', '203.0.113.5:51820', '--config', s.hq);
  assert.equal(reg.code, 0, reg.stderr);
  const e = JSON.parse(reg.stdout);
  const hqPub = roamlink('hq', 'pubkey', '--config', s.hq).stdout.trim();
  assert.deepEqual(e, {
    vehicle: 'bus-7', public_key: pub, site: null, wireguard: { address: '10.99.0.2' },
    concentrator: { endpoint: '203.0.113.5:51820', public_key: hqPub, tunnel_address: '10.99.0.1', probe_port: 51821, routes: ['192.168.10.0/24'] },
    lan: { subnet: '10.20.7.0/24' },
  });
  // Registering again with the same key prints the same enrollment; another key under that name is refused.
  const again = enroll('register', 'bus-7', '--subnet', '10.20.7.0/24', '--pubkey', pub, '--endpoint', '203.0.113.5:51820', '--config', s.hq);
  assert.equal(again.stdout, reg.stdout);
  const other = run(['wg', 'pubkey'], run(['wg', 'genkey']).stdout).stdout.trim();
  const clash = enroll('register', 'bus-7', '--subnet', '10.20.7.0/24', '--pubkey', other, '--endpoint', '203.0.113.5:51820', '--config', s.hq);
  assert.equal(clash.code, 2);
  assert.match(clash.stderr, /NAME: .*another key/);

  const before = readFileSync(s.agent, 'utf8');
  const applied = enroll('apply', '-', '--config', s.agent);
  assert.equal(applied.code, 2, 'no input is bad input');
  const ok = run(['bash', join(ROOT, 'deploy/enroll-vehicle.sh'), 'apply', '-', '--config', s.agent], reg.stdout);
  assert.equal(ok.code, 0, ok.stderr);
  const after = readFileSync(s.agent, 'utf8');
  const cfg = parseAgentConfig(parseYaml(after));
  assert.equal(cfg.wireguard.address, '10.99.0.2');
  assert.equal(cfg.concentrator.public_key, hqPub);
  assert.equal(cfg.concentrator.endpoint, '203.0.113.5:51820');
  // Only the enrolled values changed: the comments and the rest of the layout are the operator's.
  const changed = before.split('\n').filter((l, i) => l !== after.split('\n')[i]);
  assert.deepEqual(changed.map((l) => l.trim().split(':')[0]), ['address', 'endpoint', 'public_key']);
  assert.equal(statSync(s.agent).mode & 0o777, 0o640);

  for (const out of [key, reg, ok].flatMap((r) => [r.stdout, r.stderr])) assert.ok(!out.includes(priv), 'the private key was printed');
});

test('enrollment: apply refuses an enrollment of another key, naming public_key', { skip: noWg }, (t) => {
  const s = site(t);
  enroll('key', '--key', join(s.dir, 'agent.key'));
  const other = run(['wg', 'pubkey'], run(['wg', 'genkey']).stdout).stdout.trim();
  const reg = enroll('register', 'bus-9', '--subnet', '10.20.9.0/24', '--pubkey', other, '--endpoint', '203.0.113.5:51820', '--config', s.hq);
  assert.equal(reg.code, 0, reg.stderr);
  const r = run(['bash', join(ROOT, 'deploy/enroll-vehicle.sh'), 'apply', '-', '--config', s.agent], reg.stdout);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /public_key: HQ registered/);
});

test('install.sh refuses bad arguments with exit 2, naming the option', () => {
  for (const [args, want] of [[['--role', 'car'], /--role/], [['--role', 'hq', '--prefix', 'opt'], /--prefix/], [['--role', 'hq', '--purge'], /--purge/], [['--bogus'], /unknown argument/]] as const) {
    const r = run(['bash', join(ROOT, 'deploy/install.sh'), ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, want);
  }
  assert.equal(run(['bash', '-n', join(ROOT, 'deploy/install.sh')]).code, 0);
  assert.equal(run(['bash', '-n', join(ROOT, 'deploy/enroll-vehicle.sh')]).code, 0);
});

// The agent config: a full file, the defaults, every kind of mistake naming its field, and `roamlink agent --check`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify } from 'yaml';
import { loadAgentConfig, parseAgentConfig } from '../../shared/config/agent.js';
import { InputError } from '../../shared/errors.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FULL = join(ROOT, 'test/fixtures/agent/agent.yaml');
const HQ_PUB = 'vBwEETu5b+Q42o8jdYbZf9+mTrdGdXZWs4hvdqy4WX4=';

type Obj = Record<string, any>;
const full = (): Obj => parseYaml(readFileSync(FULL, 'utf8')) as Obj;
const minimal = (): Obj => ({
  vehicle: 'bus-7',
  wireguard: { interface: 'rl-wg0', private_key_file: '/etc/roamlink/agent.key', address: '10.99.0.2' },
  concentrator: { endpoint: '198.51.100.7:51820', public_key: HQ_PUB, tunnel_address: '10.99.0.1' },
  uplinks: [{ name: 'wlan0', kind: 'wifi' }, { name: 'wwan0', kind: 'lte' }],
});

test('a full config: every field as written, connect-list entries normalized', async () => {
  const cfg = await loadAgentConfig(FULL);
  assert.equal(cfg.vehicle, 'lab-car');
  assert.deepEqual(cfg.wireguard, {
    interface: 'rl-wg0', private_key_file: '/etc/roamlink/agent.key', address: '10.99.0.2', listen_port: 51820,
    fwmark: 0x5200, mtu: 1380, keepalive: 10, implementation: 'wireguard-go',
  });
  assert.deepEqual(cfg.concentrator, {
    endpoint: '198.51.100.7:51820', endpoints: ['198.51.100.7:51820'], failover_ms: 800, public_key: HQ_PUB, tunnel_address: '10.99.0.1', probe_port: 51821, api_port: 8080, routes: ['192.168.10.0/24', '172.20.0.0/16'],
  });
  assert.deepEqual(cfg.lan, { interface: 'eth0', subnet: '10.20.7.0/24', direct_internet: false });
  assert.deepEqual(cfg.uplinks, [
    { name: 'wlan0', kind: 'wifi', ctrl_path: '/run/wpa_supplicant/wlan0' },
    { name: 'wlan1', kind: 'wifi' },
    { name: 'wwan0', kind: 'lte', cost: 50 },
  ]);
  assert.equal(cfg.connect_list.length, 4);
  assert.deepEqual(cfg.connect_list[0], { ssid: 'depot', bssid: '02:00:00:00:00:01', min_signal: -80, security: 'open', addressing: { mode: 'dhcp' } });
  assert.deepEqual(cfg.connect_list[3]!.addressing, { mode: 'static', address: '10.7.0.20/24', gateway: '10.7.0.1' });
  assert.equal(cfg.initial_uplink, 'wlan1');
  // Probe and scan timing written under timing (as before) land in the policy, where a site's profile sets them too.
  assert.deepEqual(cfg.timing, { drain_ms: 100, confirm_timeout_ms: 800 });
  assert.deepEqual([cfg.policy.probe_interval_ms, cfg.policy.probe_timeout_ms, cfg.policy.scan_interval_ms], [200, 150, 2000]);
  assert.deepEqual([cfg.control_socket, cfg.state_dir, cfg.run_dir, cfg.log_level], ['/run/roamlink/lab-car.sock', '/var/lib/roamlink/lab-car', '/run/roamlink/lab-car', 'debug']);
});

test('defaults', () => {
  const cfg = parseAgentConfig(minimal());
  assert.deepEqual(cfg.wireguard, {
    interface: 'rl-wg0', private_key_file: '/etc/roamlink/agent.key', address: '10.99.0.2',
    fwmark: 0x5200, mtu: 1420, keepalive: 15, implementation: 'auto',
  });
  assert.equal(cfg.concentrator.probe_port, 51821);
  assert.deepEqual(cfg.concentrator.routes, []);
  assert.equal(cfg.lan, undefined);
  assert.deepEqual(cfg.connect_list, []);
  assert.equal(cfg.initial_uplink, undefined);
  assert.deepEqual(cfg.timing, { drain_ms: 200, confirm_timeout_ms: 1000 });
  assert.deepEqual(cfg.policy, {});
  assert.deepEqual([cfg.control_socket, cfg.state_dir, cfg.run_dir, cfg.log_level], ['/run/roamlink/agent.sock', '/var/lib/roamlink', '/run/roamlink', 'info']);
  // Part of timing given: the rest defaults.
  assert.deepEqual(parseAgentConfig({ ...minimal(), timing: { drain_ms: 50 } }).timing, { drain_ms: 50, confirm_timeout_ms: 1000 });
  // The policy's own spelling wins over the old one under timing.
  const both = parseAgentConfig({ ...minimal(), timing: { probe_interval_ms: 300 }, policy: { probe_interval_ms: 700 } });
  assert.equal(both.policy.probe_interval_ms, 700);
  assert.deepEqual(both.timing, { drain_ms: 200, confirm_timeout_ms: 1000 });
});

test('each kind of mistake names the field', () => {
  const table: Array<{ name: string; edit: (c: Obj) => void; want: RegExp }> = [
    { name: 'public key not a key', edit: (c) => (c.concentrator.public_key = 'not-a-key'), want: /concentrator\.public_key: must be a WireGuard key/ },
    { name: 'public key one character short', edit: (c) => (c.concentrator.public_key = HQ_PUB.slice(1)), want: /concentrator\.public_key: must be a WireGuard key/ },
    { name: 'endpoint without a port', edit: (c) => (c.concentrator.endpoint = '198.51.100.7'), want: /concentrator\.endpoint: must be host:port/ },
    { name: 'endpoint with a scheme', edit: (c) => (c.concentrator.endpoint = 'udp://hq.example.net:51820'), want: /concentrator\.endpoint: must be host:port/ },
    { name: 'endpoint port out of range', edit: (c) => (c.concentrator.endpoint = '198.51.100.7:99999'), want: /concentrator\.endpoint: .*99999.*port/ },
    { name: 'endpoint port 0', edit: (c) => (c.concentrator.endpoint = '198.51.100.7:0'), want: /concentrator\.endpoint: .*port/ },
    { name: 'endpoint address out of range', edit: (c) => (c.concentrator.endpoint = '300.51.100.7:51820'), want: /concentrator\.endpoint: .*300\.51\.100\.7/ },
    { name: 'neither endpoint nor endpoints', edit: (c) => delete c.concentrator.endpoint, want: /concentrator\.endpoint: is required \(host:port\), or endpoints: \[a, b\]/ },
    { name: 'endpoint and endpoints', edit: (c) => (c.concentrator.endpoints = ['198.51.100.8:51820']), want: /concentrator\.endpoints: give endpoint or endpoints, not both/ },
    { name: 'endpoints: the second not host:port', edit: (c) => { c.concentrator.endpoints = [c.concentrator.endpoint, '198.51.100.8']; delete c.concentrator.endpoint; }, want: /concentrator\.endpoints\[1\]: must be host:port/ },
    { name: 'endpoints: three', edit: (c) => { c.concentrator.endpoints = ['198.51.100.7:1', '198.51.100.8:1', '198.51.100.9:1']; delete c.concentrator.endpoint; }, want: /concentrator\.endpoints: takes at most two HQs/ },
    { name: 'endpoints: empty', edit: (c) => { c.concentrator.endpoints = []; delete c.concentrator.endpoint; }, want: /concentrator\.endpoints: needs at least one host:port/ },
    { name: 'endpoints: the same twice', edit: (c) => { c.concentrator.endpoints = ['198.51.100.7:1', '198.51.100.7:1']; delete c.concentrator.endpoint; }, want: /concentrator\.endpoints: the two HQs must differ/ },
    { name: 'failover_ms below its floor', edit: (c) => (c.concentrator.failover_ms = 10), want: /concentrator\.failover_ms: / },
    { name: 'direct_internet not a boolean', edit: (c) => (c.lan.direct_internet = 'yes'), want: /lan\.direct_internet: Invalid input: expected boolean/ },
    { name: 'duplicate uplink', edit: (c) => c.uplinks.push({ name: 'wlan0', kind: 'ethernet' }), want: /uplinks\[3\]\.name: duplicate uplink "wlan0"/ },
    { name: 'no uplinks', edit: (c) => (c.uplinks = []), want: /uplinks: needs at least one uplink/ },
    { name: 'uplink kind', edit: (c) => (c.uplinks[2].kind = '5g'), want: /uplinks\[2\]\.kind: / },
    { name: 'uplink name too long', edit: (c) => (c.uplinks[1].name = 'wlan-the-second1'), want: /uplinks\[1\]\.name: must be an interface name/ },
    { name: 'initial_uplink not an uplink', edit: (c) => (c.initial_uplink = 'eth9'), want: /initial_uplink: "eth9" is not one of the uplinks/ },
    { name: 'connect_list: positive min_signal', edit: (c) => (c.connect_list[1].min_signal = 5), want: /connect_list\[1\]\.min_signal: 5 is not a signal level/ },
    { name: 'connect_list: malformed bssid', edit: (c) => (c.connect_list[0].bssid = '02:00:00:00:00'), want: /connect_list\[0\]\.bssid: "02:00:00:00:00" is not a MAC address \(for a prefix matching several APs, use area\)/ },
    { name: 'connect_list: bssid and area', edit: (c) => (c.connect_list[2].bssid = '02:00:00:00:01:07'), want: /connect_list\[2\]\.area: give bssid or area, not both/ },
    { name: 'connect_list: psk without security psk', edit: (c) => (c.connect_list[0].psk = 's3cret-pass'), want: /connect_list\[0\]\.psk: a psk on an open entry/ },
    { name: 'connect_list: not a list', edit: (c) => (c.connect_list = { ssid: 'depot' }), want: /connect_list: connect_list must be a list of entries/ },
    { name: 'tunnel address', edit: (c) => (c.wireguard.address = '10.99.0.256'), want: /wireguard\.address: must be an IPv4 address/ },
    { name: 'route not a CIDR', edit: (c) => (c.concentrator.routes[1] = '172.20.0.0'), want: /concentrator\.routes\[1\]: must be an IPv4 CIDR/ },
    { name: 'fwmark zero', edit: (c) => (c.wireguard.fwmark = 0), want: /wireguard\.fwmark: / },
    { name: 'timing below its floor', edit: (c) => (c.timing.probe_interval_ms = 5), want: /policy\.probe_interval_ms: must be ≥ 50 ms/ },
    { name: 'probe timeout not under the interval', edit: (c) => (c.policy = { probe_timeout_ms: 1000 }), want: /policy\.probe_timeout_ms: probe_timeout_ms \(1000\) must be < probe_interval_ms \(200\)/ },
    { name: 'a policy field the agent has not', edit: (c) => (c.policy = { roam_aggressiveness: 3 }), want: /policy: Unrecognized key: "roam_aggressiveness"/ },
    { name: 'vehicle name', edit: (c) => (c.vehicle = 'Lab Car'), want: /vehicle: must be a vehicle name/ },
    { name: 'unknown key (a typo)', edit: (c) => (c.wireguard.privat_key_file = 'x'), want: /wireguard: Unrecognized key: "privat_key_file"/ },
    { name: 'unknown top-level key', edit: (c) => (c.uplink = []), want: /Unrecognized key: "uplink"/ },
    { name: 'missing section', edit: (c) => delete c.concentrator, want: /concentrator: / },
  ];
  for (const { name, edit, want } of table) {
    const c = full();
    edit(c);
    assert.throws(() => parseAgentConfig(c, 'agent.yaml'), (err: unknown) => {
      assert.ok(err instanceof InputError, `${name}: an InputError`);
      assert.match(err.message, /^agent\.yaml: /, name);
      assert.match(err.message, want, name);
      return true;
    }, name);
  }
});

test('endpoints that are fine', () => {
  for (const endpoint of ['198.51.100.7:1', '198.51.100.7:65535', 'hq.example.net:51820', 'hq-1:443']) {
    assert.equal(parseAgentConfig({ ...minimal(), concentrator: { ...minimal().concentrator, endpoint } }).concentrator.endpoint, endpoint);
  }
});

test('two HQs: endpoints kept in order, the first is where the tunnel starts; one endpoint is a list of one', () => {
  const { endpoint: _one, ...rest } = minimal().concentrator;
  const two = parseAgentConfig({ ...minimal(), concentrator: { ...rest, endpoints: ['198.51.100.2:51820', '198.51.100.3:51820'], failover_ms: 600 } }).concentrator;
  assert.deepEqual([two.endpoint, two.endpoints, two.failover_ms], ['198.51.100.2:51820', ['198.51.100.2:51820', '198.51.100.3:51820'], 600]);
  assert.deepEqual(parseAgentConfig(minimal()).concentrator.endpoints, [minimal().concentrator.endpoint]);
});

test('the psk is never quoted in an error', () => {
  const c = full();
  c.connect_list[1].psk = 'short';
  assert.throws(() => parseAgentConfig(c), (err: Error) => /connect_list\[1\]\.psk: not a valid psk/.test(err.message) && !err.message.includes('short'));
});

interface Ran { code: number; stdout: string; stderr: string }
function roamlink(...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile('node', [join(ROOT, 'bin/roamlink'), ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('roamlink agent --check: 0 on a good file (no key file needed), 2 naming the field on a bad one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-agentcfg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, c: Obj) => {
    writeFileSync(join(dir, name), stringify(c));
    return join(dir, name);
  };
  const [ok, badMark, badBssid, notYaml, missing] = await Promise.all([
    roamlink('agent', '--check', '--config', FULL),
    roamlink('agent', '--check', '--config', write('bad-mark.yaml', { ...minimal(), connect_list: [{ ssid: 'depot', min_signal: 3 }] })),
    roamlink('agent', '--check', '--config', write('bad-bssid.yaml', { ...minimal(), connect_list: [{ ssid: 'depot', bssid: '02:00:zz:00:00:01' }] })),
    (writeFileSync(join(dir, 'broken.yaml'), 'vehicle: [unclosed\n'), roamlink('agent', '--check', '--config', join(dir, 'broken.yaml'))),
    roamlink('agent', '--check', '--config', join(dir, 'nope.yaml')),
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), `${FULL}: ok (vehicle lab-car, 3 uplinks)`);
  assert.equal(badMark.code, 2, badMark.stderr);
  assert.match(badMark.stderr, /bad-mark\.yaml: connect_list\[0\]\.min_signal: 3 is not a signal level/);
  assert.equal(badBssid.code, 2, badBssid.stderr);
  assert.match(badBssid.stderr, /connect_list\[0\]\.bssid: "02:00:zz:00:00:01" is not a MAC address/);
  assert.equal(notYaml.code, 2, notYaml.stderr);
  assert.match(notYaml.stderr, /broken\.yaml:\d+:\d+: YAML syntax: /);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /--config: cannot read .*nope\.yaml: ENOENT/);
});

// HQ's nftables table rendered from the config (pure, as given/want), and checked by nft itself (`nft -c`, as root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { HQ_NFT_TABLE, applyHqFirewall, hqFirewallScript, hqFirewallSpec, type HqFirewallSpec } from '../../concentrator/firewall/hq.nft.js';
import { checkHqConfig } from '../../shared/config/hq.js';
import type { Runner } from '../../shared/exec.js';

const BASE: HqFirewallSpec = { ifname: 'rl-hq0', tunnelAddress: '10.99.0.1', agentApiPort: 8080, probePort: 51821, vehicleTo: ['10.0.0.0/24'], vehicleToVehicle: false };

test('the script: vehicles reach only vehicle_to, not each other, and on HQ only the API, probes and ping', () => {
  const cases: Array<{ name: string; given: Partial<HqFirewallSpec>; has: string[]; lacks: string[] }> = [
    {
      name: 'defaults',
      given: {},
      has: ['oifname "rl-hq0" counter drop comment "vehicle to vehicle"', 'ip daddr { 10.0.0.0/24 } accept', 'ip daddr 10.99.0.1 tcp dport 8080 accept', 'ip daddr 10.99.0.1 udp dport 51821 accept', 'iifname "rl-hq0" jump from_vehicles', 'iifname "rl-hq0" jump vehicle_out'],
      lacks: ['oifname "rl-hq0" accept'],
    },
    { name: 'vehicle to vehicle allowed', given: { vehicleToVehicle: true }, has: ['oifname "rl-hq0" accept'], lacks: ['comment "vehicle to vehicle"'] },
    { name: 'nothing behind HQ', given: { vehicleTo: [] }, has: ['counter drop comment "vehicle to anywhere not configured"'], lacks: ['ip daddr {'] },
    { name: 'two networks', given: { vehicleTo: ['10.0.0.0/24', '192.168.10.0/24'] }, has: ['ip daddr { 10.0.0.0/24, 192.168.10.0/24 } accept'], lacks: [] },
    {
      name: 'enrollment from two networks, not through the tunnel',
      given: { enroll: { port: 8444, from: ['192.0.2.0/24', '203.0.113.0/24'], throughTunnel: false } },
      has: ['    tcp dport 8444 jump enroll', '  chain enroll {', '    iif "lo" accept', '    ip saddr { 192.0.2.0/24, 203.0.113.0/24 } accept', 'counter drop comment "enrollment from a network not in firewall.enroll_from"'],
      lacks: ['tcp dport 8444 accept'],
    },
    { name: 'enrollment from nowhere but HQ itself', given: { enroll: { port: 8444, from: [], throughTunnel: false } }, has: ['  chain enroll {', '    iif "lo" accept'], lacks: ['ip saddr {'] },
    {
      name: 'enrollment through the tunnel too',
      given: { enroll: { port: 9000, from: ['0.0.0.0/0'], throughTunnel: true } },
      has: ['    tcp dport 9000 accept comment "enrollment through the tunnel (firewall.enroll_through_tunnel)"', '    ip saddr { 0.0.0.0/0 } accept'],
      lacks: [],
    },
  ];
  for (const c of cases) {
    const script = hqFirewallScript({ ...BASE, ...c.given });
    assert.ok(script.startsWith(`table inet ${HQ_NFT_TABLE}\ndelete table inet ${HQ_NFT_TABLE}\n`), `${c.name}: idempotent start`);
    for (const h of c.has) assert.ok(script.includes(h), `${c.name}: has ${h}`);
    for (const l of c.lacks) assert.ok(!script.includes(l), `${c.name}: lacks ${l}`);
    // Every chain from the tunnel (and the enrollment's) ends in a drop: deny by default.
    const lines = script.split('\n');
    for (const chain of ['from_vehicles', 'vehicle_out', ...(c.given.enroll ? ['enroll'] : [])]) {
      const end = lines.indexOf('  }', lines.indexOf(`  chain ${chain} {`));
      assert.match(lines[end - 1]!, /^ {4}counter drop/, `${c.name}: ${chain} ends in a drop`);
    }
    // The tunnel's traffic is judged before the enrollment's rule, so only from_vehicles can let it reach the port.
    if (c.given.enroll) assert.ok(script.indexOf('jump from_vehicles') < script.indexOf('jump enroll'), `${c.name}: the tunnel first`);
  }
});

const CONFIG = { interface: 'rl-hq0', private_key_file: 'hq.key', tunnel_network: '10.99.0.0/24', state_dir: 'state', lan_subnets: ['10.0.0.0/24'], admin_tls: { cert: 'a.crt', key: 'a.key' } };

test("enroll_listen in HQ's config: the table's enrollment rules, and a listener the table would silently close refused", () => {
  const specOf = (over: Record<string, unknown>) => hqFirewallSpec(checkHqConfig({ ...CONFIG, ...over }, 'hq.yaml', '/etc/roamlink')).enroll;
  const cases: Array<{ name: string; given: Record<string, unknown>; want: HqFirewallSpec['enroll'] }> = [
    { name: 'no listener', given: {}, want: null },
    { name: 'on loopback: nothing outside reaches it', given: { enroll_listen: '127.0.0.1:8444' }, want: null },
    { name: 'from a depot network', given: { enroll_listen: '0.0.0.0:8444', firewall: { enroll_from: ['192.0.2.0/24'] } }, want: { port: 8444, from: ['192.0.2.0/24'], throughTunnel: false } },
    { name: 'anywhere, and through the tunnel', given: { enroll_listen: '198.51.100.1:9000', firewall: { enroll_from: ['0.0.0.0/0'], enroll_through_tunnel: true } }, want: { port: 9000, from: ['0.0.0.0/0'], throughTunnel: true } },
  ];
  for (const c of cases) assert.deepEqual(specOf(c.given), c.want, c.name);
  assert.equal(hqFirewallSpec(checkHqConfig({ ...CONFIG, firewall: { vehicle_to: ['10.1.0.0/16'] } }, 'hq.yaml', '/')).vehicleTo.join(), '10.1.0.0/16');

  const refused: Array<{ name: string; given: Record<string, unknown>; error: RegExp }> = [
    { name: 'a listener with no enroll_from', given: { enroll_listen: '0.0.0.0:8444' }, error: /hq\.yaml: firewall\.enroll_from: needed with enroll_listen 0\.0\.0\.0:8444/ },
    { name: 'overlapping networks (nft refuses them in one set)', given: { enroll_listen: '0.0.0.0:8444', firewall: { enroll_from: ['10.0.0.0/8', '10.1.0.0/16'] } }, error: /firewall\.enroll_from\[1\]: 10\.1\.0\.0\/16 overlaps firewall\.enroll_from\[0\]/ },
    { name: 'not a network', given: { enroll_listen: '0.0.0.0:8444', firewall: { enroll_from: ['192.0.2.7/24'] } }, error: /firewall\.enroll_from\[0\]: not a network address: its host bits are set/ },
  ];
  for (const c of refused) assert.throws(() => checkHqConfig({ ...CONFIG, ...c.given }, 'hq.yaml', '/etc/roamlink'), c.error, c.name);
  // Without HQ's table the operator's own firewall decides: no enroll_from needed.
  assert.equal(checkHqConfig({ ...CONFIG, enroll_listen: '0.0.0.0:8444', firewall: { enabled: false } }, 'hq.yaml', '/').enroll_listen, '0.0.0.0:8444');
});

test('nft itself accepts every variant (nft -c, as root)', { skip: (process.getuid?.() !== 0 || spawnSync('nft', ['--version']).error) && 'needs root and nft' }, () => {
  for (const over of [{}, { vehicleToVehicle: true }, { vehicleTo: [] }, { vehicleTo: ['10.0.0.0/24', '192.168.10.0/24'] },
    { enroll: { port: 8444, from: ['192.0.2.0/24', '203.0.113.0/24'], throughTunnel: false } }, { enroll: { port: 8444, from: [], throughTunnel: true } }]) {
    const r = spawnSync('nft', ['-c', '-f', '-'], { input: hqFirewallScript({ ...BASE, ...over }) });
    assert.equal(r.status, 0, String(r.stderr));
  }
});

test('apply: nft missing or refusing is an error that says what to do', async () => {
  const missing: Runner = async () => {
    throw new Error('spawn nft ENOENT');
  };
  await assert.rejects(applyHqFirewall(BASE, { run: missing }), /firewall: nft refused HQ's table \(spawn nft ENOENT\); install nftables, or set firewall.enabled: false/);
  let input = '';
  const ok: Runner = (async (_argv: string[], o: { input?: string }) => ((input = o.input ?? ''), { exitCode: 0, stdout: '', stderr: '' })) as unknown as Runner;
  await applyHqFirewall(BASE, { run: ok });
  assert.equal(input, hqFirewallScript(BASE));
});

// The vehicle's firewall (nft table inet roamlink_fw): the script as golden text, set elements, the driver's argv, and real nft in a throwaway namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFirewallDriver, firewallScript, setElements, type FirewallSpec } from '../../agent/drivers/nft/firewall.js';
import { firewallSpec } from '../../agent/agent.js';
import { createSteerDriver } from '../../agent/drivers/nft/steer.js';
import { parseAgentConfig } from '../../shared/config/agent.js';
import { run, type Runner, type RunOptions } from '../../shared/exec.js';

const spec: FirewallSpec = {
  lan: { interface: 'eth0', subnet: '10.20.7.0/24' },
  tunnel: { interface: 'rl-wg0', address: '10.99.0.7', peer: '10.99.0.1', routes: ['192.168.10.0/24'] },
  uplinks: ['wlan0', 'wlan1', 'wwan0'],
  lanToInternet: false,
};

const GOLDEN = `table inet roamlink_fw
delete table inet roamlink_fw
table inet roamlink_fw {
  set uplinks {
    type ifname
    elements = { "wlan0", "wlan1", "wwan0" }
  }
  chain prerouting {
    type filter hook prerouting priority raw; policy accept;
    # An uplink never carries a LAN or tunnel source, nor anything for the LAN or the tunnel address.
    iifname @uplinks ip saddr { 10.20.7.0/24, 10.99.0.7, 10.99.0.1, 192.168.10.0/24 } counter drop comment "spoofed source"
    iifname @uplinks ip daddr { 10.20.7.0/24, 10.99.0.7 } counter drop comment "uplink to inside"
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    iifname "eth0" oifname "rl-wg0" ip saddr 10.20.7.0/24 accept
    iifname "rl-wg0" oifname "eth0" accept
    counter comment "denied"
  }
}
`;

test('firewall script: golden text; LAN to the internet only when configured', () => {
  assert.equal(firewallScript(spec), GOLDEN);
  const open = firewallScript({ ...spec, lanToInternet: true });
  assert.match(open, /iifname "eth0" oifname @uplinks ip saddr 10\.20\.7\.0\/24 accept\n/);
  assert.match(open, /iifname @uplinks oifname "eth0" ct state established,related accept\n/);
  assert.match(open, /type nat hook postrouting priority srcnat; policy accept;\n    oifname @uplinks ip saddr 10\.20\.7\.0\/24 masquerade/);
  // Without a LAN nothing is forwarded at all; the uplinks still carry no tunnel source.
  const noLan = firewallScript({ ...spec, lan: null, lanToInternet: true });
  assert.doesNotMatch(noLan, /accept\n/);
  assert.match(noLan, /ip saddr \{ 10\.99\.0\.7, 10\.99\.0\.1, 192\.168\.10\.0\/24 \}/);
});

test('set elements: host bits cleared, an address or prefix inside another left out, duplicates once', () => {
  const table: Array<{ given: string[]; want: string[] }> = [
    { given: ['10.20.7.5/24', '10.99.0.2'], want: ['10.20.7.0/24', '10.99.0.2'] },
    { given: ['10.99.0.2', '10.99.0.1', '10.99.0.0/24'], want: ['10.99.0.0/24'] },
    { given: ['10.99.0.1', '10.99.0.1'], want: ['10.99.0.1'] },
    { given: ['10.0.0.0/8', '10.20.0.0/16', '192.168.1.1'], want: ['10.0.0.0/8', '192.168.1.1'] },
  ];
  for (const { given, want } of table) assert.deepEqual(setElements(given), want, given.join(' '));
  assert.throws(() => setElements(['wlan0']), /not an IPv4 address or prefix/);
});

test('the spec from the agent config: LAN, tunnel addresses, routes, every uplink; direct_internet off by default', () => {
  const base = {
    vehicle: 'car-7', wireguard: { interface: 'rl-wg0', private_key_file: '/k', address: '10.99.0.7' },
    concentrator: { endpoint: '198.51.100.7:51820', public_key: 'vBwEETu5b+Q42o8jdYbZf9+mTrdGdXZWs4hvdqy4WX4=', tunnel_address: '10.99.0.1', routes: ['192.168.10.0/24'] },
    lan: { interface: 'eth0', subnet: '10.20.7.0/24' },
    uplinks: [{ name: 'wlan0', kind: 'wifi' }, { name: 'wlan1', kind: 'wifi' }, { name: 'wwan0', kind: 'lte' }],
  };
  assert.deepEqual(firewallSpec(parseAgentConfig(base)), spec);
  assert.equal(firewallSpec(parseAgentConfig({ ...base, lan: { ...base.lan, direct_internet: true } })).lanToInternet, true);
});

test('firewall driver: one `nft -f -` per call in its namespace; remove tolerates a missing table', async () => {
  const calls: Array<{ argv: readonly string[]; opts: RunOptions | undefined }> = [];
  const runner: Runner = async (argv, opts) => {
    calls.push({ argv, opts });
    return { stdout: '', stderr: '', exitCode: 0 };
  };
  const d = createFirewallDriver('rl-veh', runner);
  await d.apply(spec);
  await d.remove();
  assert.deepEqual(calls.map((c) => [c.argv, c.opts?.netns, c.opts?.allowFail ?? false]), [[['nft', '-f', '-'], 'rl-veh', false], [['nft', '-f', '-'], 'rl-veh', true]]);
  assert.equal(calls[0]!.opts?.input, GOLDEN);
  assert.equal(calls[1]!.opts?.input, 'table inet roamlink_fw\ndelete table inet roamlink_fw\n');
});

const isRoot = process.getuid?.() === 0;

test('nft applies it: idempotent, re-applied over itself, the steering table untouched, removed whole', { skip: !isRoot && 'needs root' }, async (t) => {
  const ns = `rlt-fw-${process.pid}`;
  await run(['ip', 'netns', 'add', ns]);
  t.after(async () => {
    await run(['ip', 'netns', 'del', ns], { allowFail: true });
  });
  const list = async () => (await run(['nft', 'list', 'ruleset'], { netns: ns })).stdout;
  const steer = createSteerDriver(ns);
  await steer.init({ wgMark: 0x5200, endpoint: { address: '198.51.100.7', port: 51820 }, target: { mark: 0x5201, address: '192.168.50.23' } });
  const steerOnly = await list();
  const fw = createFirewallDriver(ns);
  await fw.apply(spec);
  const once = await list();
  await fw.apply(spec);
  assert.equal(await list(), once, 'applying again changes nothing');
  assert.match(once, /table inet roamlink_fw \{/);
  assert.match(once, /chain forward \{\n\s+type filter hook forward priority filter; policy drop;/);
  assert.ok(once.includes(steerOnly.trim().split('\n').slice(0, 4).join('\n')), 'the steering table is still there');
  // A new spec (LAN to the internet on) replaces the table whole.
  await fw.apply({ ...spec, lanToInternet: true });
  assert.match(await list(), /masquerade/);
  await fw.remove();
  await fw.remove();
  assert.equal(await list(), steerOnly, 'only the steering table is left');
  await steer.remove();
});

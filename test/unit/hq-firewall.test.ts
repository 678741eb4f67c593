// HQ's nftables table rendered from the config (pure, as given/want), and checked by nft itself (`nft -c`, as root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { HQ_NFT_TABLE, applyHqFirewall, hqFirewallScript, type HqFirewallSpec } from '../../concentrator/firewall/hq.nft.js';
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
  ];
  for (const c of cases) {
    const script = hqFirewallScript({ ...BASE, ...c.given });
    assert.ok(script.startsWith(`table inet ${HQ_NFT_TABLE}\ndelete table inet ${HQ_NFT_TABLE}\n`), `${c.name}: idempotent start`);
    for (const h of c.has) assert.ok(script.includes(h), `${c.name}: has ${h}`);
    for (const l of c.lacks) assert.ok(!script.includes(l), `${c.name}: lacks ${l}`);
    // Every chain from the tunnel ends in a drop: deny by default.
    const lines = script.split('\n');
    for (const chain of ['from_vehicles', 'vehicle_out']) {
      const end = lines.indexOf('  }', lines.indexOf(`  chain ${chain} {`));
      assert.match(lines[end - 1]!, /^ {4}counter drop/, `${c.name}: ${chain} ends in a drop`);
    }
  }
});

test('nft itself accepts every variant (nft -c, as root)', { skip: (process.getuid?.() !== 0 || spawnSync('nft', ['--version']).error) && 'needs root and nft' }, () => {
  for (const over of [{}, { vehicleToVehicle: true }, { vehicleTo: [] }, { vehicleTo: ['10.0.0.0/24', '192.168.10.0/24'] }]) {
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

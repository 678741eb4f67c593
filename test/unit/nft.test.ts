// shared/nft.ts, the one way both daemons build and apply an nftables table: its scripts, and the rulesets of HQ's
// table and the vehicle's firewall unchanged by the move to it (golden text written by the code before the move;
// the steering table's golden text is steer.test's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nftApply, nftCommandsScript, nftRemoveScript, nftTableScript } from '../../shared/nft.js';
import { hqFirewallRemoveScript, hqFirewallScript, type HqFirewallSpec } from '../../concentrator/firewall/hq.nft.js';
import { firewallScript, type FirewallSpec } from '../../agent/drivers/nft/firewall.js';
import type { Runner, RunOptions } from '../../shared/exec.js';

const golden = (name: string) => readFileSync(fileURLToPath(new URL(`../../../test/fixtures/nft/${name}`, import.meta.url)), 'utf8');

test('a table created anew, removed, and commands: one script each', () => {
  const t = { family: 'inet', name: 'x' } as const;
  assert.equal(nftTableScript(t, ['  chain c {', '  }']), 'table inet x\ndelete table inet x\ntable inet x {\n  chain c {\n  }\n}\n');
  assert.equal(nftRemoveScript({ family: 'ip', name: 'roamlink' }), 'table ip roamlink\ndelete table ip roamlink\n');
  assert.equal(nftCommandsScript(['flush chain ip roamlink steer', 'add rule ip roamlink steer accept']), 'flush chain ip roamlink steer\nadd rule ip roamlink steer accept\n');
});

test('the rulesets are the ones written before shared/nft.ts (golden text)', () => {
  const hq: HqFirewallSpec = { ifname: 'rl-hq0', tunnelAddress: '10.99.0.1', agentApiPort: 8080, probePort: 51821, vehicleTo: ['10.0.0.0/24'], vehicleToVehicle: false };
  const veh: FirewallSpec = { lan: { interface: 'lan0', subnet: '10.20.1.0/24' }, tunnel: { interface: 'rl-wg0', address: '10.99.0.2', peer: '10.99.0.1', routes: ['10.0.0.0/24', '10.99.0.0/24'] }, uplinks: ['wlan0', 'wlan1', 'wwan0'], lanToInternet: false };
  const table: Array<{ got: string; want: string }> = [
    { got: hqFirewallScript(hq), want: 'hq-default.nft' },
    { got: hqFirewallScript({ ...hq, vehicleToVehicle: true, vehicleTo: [], enroll: { port: 8444, from: ['192.0.2.0/24', '203.0.113.0/24'], throughTunnel: true } }), want: 'hq-v2v-enroll.nft' },
    { got: hqFirewallRemoveScript(), want: 'hq-remove.nft' },
    { got: firewallScript(veh), want: 'agent-fw.nft' },
    { got: firewallScript({ ...veh, lanToInternet: true }), want: 'agent-fw-direct.nft' },
    { got: firewallScript({ ...veh, lan: null, uplinks: [] }), want: 'agent-fw-nolan.nft' },
  ];
  for (const { got, want } of table) assert.equal(got, golden(want), want);
});

test('apply: `nft -f -` with the script on stdin, in the namespace, throwing unless allowFail', async () => {
  const calls: Array<{ argv: readonly string[]; opts: RunOptions | undefined }> = [];
  const runner: Runner = async (argv, opts) => {
    calls.push({ argv, opts });
    return { stdout: '', stderr: '', exitCode: 0 };
  };
  await nftApply('flush ruleset\n', { run: runner, netns: 'rl-x' });
  await nftApply('x\n', { run: runner, allowFail: true });
  assert.deepEqual(calls.map((c) => [c.argv, c.opts?.input, c.opts?.netns, c.opts?.allowFail]), [[['nft', '-f', '-'], 'flush ruleset\n', 'rl-x', false], [['nft', '-f', '-'], 'x\n', undefined, true]]);
});

// The reconciler's batches, pure: when a pass is batched, and the `wg addconf` and `ip -batch` text rendered from its plan (golden).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Runner } from '../../shared/exec.js';
import { renderBatch, shouldBatch, type Change } from '../../concentrator/reconcile/diff.js';
import { createPeersBatch } from '../../concentrator/reconcile/wg.addconf.js';

const K1 = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=';
const K2 = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAI=';
const K3 = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAM=';

const set = (publicKey: string, ...allowedIps: string[]): Change => ({ kind: 'peer.set', publicKey, allowedIps });
const add = (dst: string): Change => ({ kind: 'route.replace', dst });
const adds = (n: number) => Array.from({ length: n }, (_, i) => add(`10.${20 + (i >> 8)}.${i & 255}.0/24`));

test('shouldBatch', () => {
  const table: Array<{ name: string; given: [Change[], boolean, number?]; want: boolean }> = [
    { name: 'the first pass, even a small one', given: [[add('10.20.1.0/24')], true], want: true },
    { name: 'the first pass with nothing to do', given: [[], true], want: true },
    { name: 'a later pass of 50 adds', given: [adds(50), false], want: false },
    { name: 'a later pass of 51 adds', given: [adds(51), false], want: true },
    { name: 'removals do not count (they are never batched)', given: [[...adds(50), ...Array.from({ length: 100 }, (): Change => ({ kind: 'peer.remove', publicKey: K1 }))], false], want: false },
    { name: 'peer sets count', given: [[...adds(40), ...Array(11).fill(set(K1, '10.99.0.2/32'))], false], want: true },
    { name: 'a threshold of its own', given: [adds(3), false, 2], want: true },
  ];
  for (const { name, given, want } of table) assert.equal(shouldBatch(...given), want, name);
});

test('renderBatch: golden text; removals kept apart, in plan order', () => {
  const plan: Change[] = [
    { kind: 'peer.remove', publicKey: K3 },
    { kind: 'route.remove', dst: '10.20.3.0/24' },
    set(K1, '10.99.0.2/32', '10.20.1.0/24'),
    set(K2, '10.99.0.3/32', '10.20.2.0/24'),
    add('10.20.1.0/24'),
    add('10.20.2.0/24'),
  ];
  const b = renderBatch(plan, 'rl-hq0');
  assert.deepEqual(b.removals, plan.slice(0, 2));
  assert.deepEqual(b.batched, plan.slice(2));
  assert.deepEqual(b.unbatchable, []);
  assert.equal(
    b.peersConf,
    `[Peer]
PublicKey = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=
AllowedIPs = 10.99.0.2/32, 10.20.1.0/24

[Peer]
PublicKey = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAI=
AllowedIPs = 10.99.0.3/32, 10.20.2.0/24
`,
  );
  assert.deepEqual(b.routeScripts, [
    `route replace 10.20.1.0/24 dev rl-hq0 proto 82
route replace 10.20.2.0/24 dev rl-hq0 proto 82
`,
  ]);
});

test('renderBatch: nothing to set or add renders no text', () => {
  assert.deepEqual(renderBatch([{ kind: 'peer.remove', publicKey: K1 }], 'wg0'), {
    removals: [{ kind: 'peer.remove', publicKey: K1 }], batched: [], unbatchable: [], peersConf: '', routeScripts: [],
  });
});

test('renderBatch: route scripts of at most N lines', () => {
  const b = renderBatch(adds(5), 'wg0', 2);
  assert.deepEqual(b.routeScripts.map((s) => s.split('\n').filter(Boolean).map((l) => l.split(' ')[2])), [
    ['10.20.0.0/24', '10.20.1.0/24'], ['10.20.2.0/24', '10.20.3.0/24'], ['10.20.4.0/24'],
  ]);
  assert.equal(renderBatch(adds(2000), 'wg0').routeScripts.length, 1);
  assert.equal(renderBatch(adds(2001), 'wg0').routeScripts.length, 2);
  assert.throws(() => renderBatch([], 'wg0', 0), /linesPerScript must be a positive integer, not 0/);
});

test('renderBatch: what would not parse, or would inject a line, is left out for one at a time', () => {
  const table: Array<{ name: string; given: Change }> = [
    { name: 'a key that is not one', given: set('bogus', '10.99.0.2/32') },
    { name: 'a key carrying a section', given: set(`${K1}\n[Interface]\nPrivateKey = ${K2}`, '10.99.0.2/32') },
    { name: 'an allowed-ip that is not a CIDR', given: set(K1, '10.99.0.2') },
    { name: 'an allowed-ip carrying a line', given: set(K1, '10.99.0.2/32\nEndpoint = 203.0.113.9:1') },
    { name: 'no allowed-ips', given: set(K1) },
    { name: 'a route that is not a CIDR', given: add('10.20.1.0/33') },
    { name: 'a route carrying a command', given: add('10.20.1.0/24 dev lo\nlink del wg0') },
  ];
  for (const { name, given } of table) {
    const b = renderBatch([given, set(K3, '10.99.0.4/32'), add('10.20.9.0/24')], 'wg0');
    assert.deepEqual(b.unbatchable, [given], name);
    assert.equal(b.peersConf, `[Peer]\nPublicKey = ${K3}\nAllowedIPs = 10.99.0.4/32\n`, name);
    assert.deepEqual(b.routeScripts, ['route replace 10.20.9.0/24 dev wg0 proto 82\n'], name);
  }
  assert.throws(() => renderBatch([], 'wg0 dev lo'), /interface: "wg0 dev lo" is not an interface name/);
});

test('wg addconf driver: refuses text that is more than peers, runs nothing for no peers', async () => {
  const calls: string[] = [];
  const run: Runner = async (argv) => {
    calls.push(argv.join(' '));
    return { stdout: '', stderr: '', exitCode: 0 };
  };
  const d = createPeersBatch(run);
  await assert.rejects(d.addconf('wg0', `[Interface]\nListenPort = 1\n`), /peers only, found "\[Interface\]"/);
  await assert.rejects(d.addconf('wg0', `[Peer]\nPublicKey = ${K1}\nPresharedKey = ${K2}\n`), /peers only, found "PresharedKey"/);
  await assert.rejects(d.addconf('wg 0', `[Peer]\nPublicKey = ${K1}\n`), /not an interface name/);
  await d.addconf('wg0', '');
  assert.deepEqual(calls, []);
  await d.addconf('wg0', `[Peer]\nPublicKey = ${K1}\nAllowedIPs = 10.99.0.2/32\n`, { netns: 'ns1' });
  assert.equal(calls.length, 1);
  assert.match(calls[0]!, /^wg addconf wg0 \/\S+\/roamlink-secret-\w+\/key$/);
});

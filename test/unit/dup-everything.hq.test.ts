// The duplicate-everything baseline's HQ side: its rules as text, the endpoints it learns, and in a throwaway pair of
// namespaces a reply of HQ's WireGuard port leaving once to every endpoint the vehicle was seen from, then not to one gone quiet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DOWN_TABLE, SEEN_TIMEOUT_S, dupDownRules, dupDownTableScript, parseDownCounters, parseSeen, startDupDown, type DownSpec } from '../../lab/dup-everything.hq.js';
import { Proc } from '../../lab/procs.js';
import { run } from '../../shared/exec.js';

const a = { address: '198.51.100.10', port: 51820, nextHop: '198.51.100.10' };
const lte = { address: '198.51.100.30', port: 1024, nextHop: '198.51.100.1' };

test('rules: each endpoint\'s copy addressed and counted first, a stray copy dropped, then every outer packet duplicated to each other endpoint', () => {
  const table: Array<{ name: string; given: DownSpec; want: string[] }> = [
    { name: 'no endpoint seen', given: { port: 51820, device: 'wan0', endpoints: [] }, want: ['meta mark & 0x0ff00000 != 0 drop'] },
    {
      name: 'two endpoints (one behind a gateway)', given: { port: 51820, device: 'wan0', endpoints: [a, lte] },
      want: [
        'meta mark & 0x0ff00000 == 0x00100000 ip daddr set 198.51.100.10 udp dport set 51820 counter name "down_198_51_100_10_51820" accept',
        'meta mark & 0x0ff00000 == 0x00200000 ip daddr set 198.51.100.30 udp dport set 1024 counter name "down_198_51_100_30_1024" accept',
        'meta mark & 0x0ff00000 != 0 drop',
        'oifname "wan0" udp sport 51820 ip daddr . udp dport != { 198.51.100.10 . 51820 } meta mark set meta mark or 0x00100000 dup to 198.51.100.10 device "wan0" meta mark set meta mark and 0xf00fffff',
        'oifname "wan0" udp sport 51820 ip daddr . udp dport != { 198.51.100.30 . 1024 } meta mark set meta mark or 0x00200000 dup to 198.51.100.1 device "wan0" meta mark set meta mark and 0xf00fffff',
      ],
    },
  ];
  for (const { name, given, want } of table) assert.deepEqual(dupDownRules(given), want, name);
  assert.match(dupDownTableScript({ port: 51820, device: 'wan0' }), /iifname "wan0" udp dport 51820 update @seen \{ ip saddr \. udp sport \}/);
});

test('seen: the set\'s elements as nft -j prints them (with and without a timeout), sorted; counters by endpoint', () => {
  const json = JSON.stringify({ nftables: [
    { metainfo: { version: '1.0.6' } },
    { set: { family: 'ip', name: 'seen', table: 'roamlink_dupdown', type: ['ipv4_addr', 'inet_service'], elem: [
      { elem: { val: { concat: ['198.51.100.30', 1024] }, expires: 2 } },
      { concat: ['198.51.100.10', 51820] },
      { elem: { val: { concat: ['198.51.100.9', 7] }, expires: 0 } },
    ] } },
  ] });
  assert.deepEqual(parseSeen(json), [{ address: '198.51.100.9', port: 7 }, { address: '198.51.100.10', port: 51820 }, { address: '198.51.100.30', port: 1024 }]);
  assert.deepEqual(parseSeen(JSON.stringify({ nftables: [{ set: { name: 'seen' } }] })), []);
  assert.throws(() => parseSeen('{}'), /no "nftables" array/);
  const counters = JSON.stringify({ nftables: [{ counter: { name: 'down_198_51_100_30_1024', packets: 2, bytes: 84 } }, { counter: { name: 'other', packets: 1, bytes: 1 } }] });
  assert.deepEqual(parseDownCounters(counters), { '198_51_100_30_1024': { packets: 2, bytes: 84 } });
});

const isRoot = process.getuid?.() === 0;

/** A node program in a namespace: UDP sockets bound to `binds`, each sending `hello` to HQ every 100 ms for `ms`, and
 *  printing every datagram one of them receives as a JSON line { to, from, text }. */
const PEER = (binds: Array<[string, number]>, ms: number) => `
  const dgram = require('node:dgram');
  const socks = ${JSON.stringify(binds)}.map(([address, port]) => {
    const s = dgram.createSocket('udp4');
    s.on('message', (m, r) => process.stdout.write(JSON.stringify({ to: address + ':' + port, from: r.address + ':' + r.port, text: String(m) }) + '\\n'));
    s.bind(port, address);
    return s;
  });
  const t = setInterval(() => socks.forEach((s) => s.send('hello', 51820, '198.51.100.2')), 100);
  setTimeout(() => { clearInterval(t); socks.forEach((s) => s.close()); }, ${ms});`;

/** HQ's WireGuard stand-in: one datagram from port 51820 to `to`. */
const HQ_SEND = (to: [string, number], text: string) => `
  const s = require('node:dgram').createSocket('udp4');
  s.bind(51820, () => s.send(${JSON.stringify(text)}, ${to[1]}, ${JSON.stringify(to[0])}, () => s.close()));`;

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);

test('HQ answers one endpoint: the datagram leaves to every endpoint seen (address and port), from HQ\'s port; one gone quiet gets no more', { skip: !isRoot && 'needs root', timeout: 30_000 }, async (t) => {
  // HQ (wan0, 198.51.100.2) and, on the other end of its wire, the vehicle's three NATed uplinks: .10, .11 and .30.
  const hq = `rlt-duph-${process.pid}`;
  const peer = `rlt-dupp-${process.pid}`;
  await run(['ip', 'netns', 'add', hq]);
  t.after(() => run(['ip', 'netns', 'del', hq], { allowFail: true }));
  await run(['ip', 'netns', 'add', peer]);
  t.after(() => run(['ip', 'netns', 'del', peer], { allowFail: true }));
  await run(['ip', 'link', 'add', 'wan0', 'netns', hq, 'type', 'veth', 'peer', 'name', 'p0', 'netns', peer]);
  await run(['ip', '-n', hq, '-batch', '-'], { input: 'link set lo up\nlink set wan0 up\naddr add 198.51.100.2/24 dev wan0\n' });
  await run(['ip', '-n', peer, '-batch', '-'], { input: 'link set lo up\nlink set p0 up\naddr add 198.51.100.10/24 dev p0\naddr add 198.51.100.11/24 dev p0\naddr add 198.51.100.30/24 dev p0\n' });
  const ends: Array<[string, number]> = [['198.51.100.10', 40010], ['198.51.100.11', 40011], ['198.51.100.30', 40030]];

  let rendered: (s: DownSpec) => void = () => {};
  const d = startDupDown({ netns: hq, port: 51820, device: 'wan0', pollMs: 100, onRender: (s) => rendered(s) });
  t.after(() => d.stop());
  await d.ready;

  // The vehicle's three paths send; HQ learns all three.
  const got: Array<{ to: string; from: string; text: string }> = [];
  const procs: Proc[] = [];
  t.after(() => Promise.all(procs.map((p) => p.stop())));
  const startPeer = (binds: Array<[string, number]>, ms: number) => procs.push(new Proc('peer', [process.execPath, '-e', PEER(binds, ms)], { netns: peer, onStdoutLine: (l) => got.push(JSON.parse(l) as (typeof got)[number]) }));
  const three = new Promise<DownSpec>((resolve) => { rendered = (s) => s.endpoints.length === 3 && resolve(s); });
  startPeer(ends, 8000);
  const spec = await within(three, 3000, 'three endpoints rendered');
  assert.deepEqual(spec.endpoints.map((e) => [e.address, e.port, e.nextHop]), ends.map(([ad, p]) => [ad, p, ad]), 'each endpoint, on the link');

  // HQ answers the first one: the reply arrives at each endpoint, addressed to it, from HQ's WireGuard port.
  await run([process.execPath, '-e', HQ_SEND(ends[0]!, 'reply-1')], { netns: hq });
  const replies = (text: string) => got.filter((g) => g.text === text);
  await within((async () => { while (replies('reply-1').length < 3) await new Promise((r) => setTimeout(r, 20)); })(), 2000, 'reply-1 at three endpoints');
  assert.deepEqual(replies('reply-1').map((g) => [g.to, g.from]).sort(), ends.map(([ad, p]) => [`${ad}:${p}`, '198.51.100.2:51820']));
  const c = await d.counters();
  assert.deepEqual(Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v.packets])), { '198_51_100_10_40010': 0, '198_51_100_11_40011': 1, '198_51_100_30_40030': 1 }, 'the two copies counted; the packet itself (to .10) is not a copy');
  assert.equal(c['198_51_100_11_40011']!.bytes, 20 + 8 + 'reply-1'.length, 'bytes as IP packets');

  // .30 goes quiet (the others go on): after the set's timeout its rule goes, and the next reply reaches two.
  await procs[0]!.stop();
  startPeer(ends.slice(0, 2), 8000);
  const two = new Promise<DownSpec>((resolve) => { rendered = (s) => s.endpoints.length === 2 && resolve(s); });
  await within(two, (SEEN_TIMEOUT_S + 2) * 1000, 'the quiet endpoint forgotten');
  await run([process.execPath, '-e', HQ_SEND(ends[1]!, 'reply-2')], { netns: hq });
  await within((async () => { while (replies('reply-2').length < 2) await new Promise((r) => setTimeout(r, 20)); })(), 2000, 'reply-2 at two endpoints');
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(replies('reply-2').map((g) => g.to).sort(), ['198.51.100.10:40010', '198.51.100.11:40011']);

  await d.stop();
  const left = await run(['nft', 'list', 'tables'], { netns: hq });
  assert.ok(!left.stdout.includes(DOWN_TABLE.name), 'stop removes the table');
});

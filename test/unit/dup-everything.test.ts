// The lab's duplicate-everything baseline: its rules as text, the routes it follows, the driver re-rendering on a
// change, and the real `nft` accepting the rules (check mode) and duplicating a packet onto every other uplink.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { COPY_BIT, dupRules, dupTableScript, dupUpdateScript, parseDupCounters, parseUplinkRoutes, startDupEverything, type DupSpec } from '../../lab/dup-everything.js';
import { run, type Runner } from '../../shared/exec.js';

const routes = readFileSync(fileURLToPath(new URL('../../../test/fixtures/lab/ip-route-all.json', import.meta.url)), 'utf8');
const DEVICES = ['wlan0', 'wlan1', 'wwan0'];
const endpoint = { address: '198.51.100.2', port: 51820 };
const wlan0 = { device: 'wlan0', address: '192.168.10.23', gateway: '192.168.10.1' };
const wlan1 = { device: 'wlan1', address: '192.168.11.57', gateway: '192.168.11.1' };
const wwan0 = { device: 'wwan0', address: '100.64.0.12', gateway: '100.64.0.1' };

test('routes: each uplink with a default route (gateway and source) carries copies, in the devices\' order', () => {
  // wwan0 has an address but no default route yet (no lease routes): it carries nothing.
  assert.deepEqual(parseUplinkRoutes(routes, DEVICES), [wlan0, wlan1]);
  assert.deepEqual(parseUplinkRoutes(routes, ['wlan1', 'wlan0']), [wlan1, wlan0]);
  assert.deepEqual(parseUplinkRoutes('[]', DEVICES), []);
  assert.throws(() => parseUplinkRoutes('{}', DEVICES), /not an array/);
});

test('rules: copies counted and let go first; each uplink\'s packets duplicated onto every other one, then restored', () => {
  const table: Array<{ name: string; given: DupSpec; want: string[] }> = [
    { name: 'no uplink', given: { endpoint, uplinks: [] }, want: ['meta mark & 0x00100000 == 0x00100000 accept'] },
    {
      name: 'one uplink: nothing to duplicate onto', given: { endpoint, uplinks: [wlan0] },
      want: [
        'meta mark & 0x00100000 == 0x00100000 oifname "wlan0" ip daddr 198.51.100.2 udp dport 51820 counter name "dup_wlan0" accept',
        'meta mark & 0x00100000 == 0x00100000 accept',
      ],
    },
    {
      name: 'three uplinks', given: { endpoint, uplinks: [wlan0, wlan1, wwan0] },
      want: [
        'meta mark & 0x00100000 == 0x00100000 oifname "wlan0" ip daddr 198.51.100.2 udp dport 51820 counter name "dup_wlan0" accept',
        'meta mark & 0x00100000 == 0x00100000 oifname "wlan1" ip daddr 198.51.100.2 udp dport 51820 counter name "dup_wlan1" accept',
        'meta mark & 0x00100000 == 0x00100000 oifname "wwan0" ip daddr 198.51.100.2 udp dport 51820 counter name "dup_wwan0" accept',
        'meta mark & 0x00100000 == 0x00100000 accept',
        'oifname "wlan0" ip daddr 198.51.100.2 udp dport 51820 meta mark set meta mark or 0x00100000 ' +
          'ip saddr set 192.168.11.57 dup to 192.168.11.1 device "wlan1" ip saddr set 100.64.0.12 dup to 100.64.0.1 device "wwan0" ' +
          'meta mark set meta mark and 0xffefffff ip saddr set 192.168.10.23',
        'oifname "wlan1" ip daddr 198.51.100.2 udp dport 51820 meta mark set meta mark or 0x00100000 ' +
          'ip saddr set 192.168.10.23 dup to 192.168.10.1 device "wlan0" ip saddr set 100.64.0.12 dup to 100.64.0.1 device "wwan0" ' +
          'meta mark set meta mark and 0xffefffff ip saddr set 192.168.11.57',
        'oifname "wwan0" ip daddr 198.51.100.2 udp dport 51820 meta mark set meta mark or 0x00100000 ' +
          'ip saddr set 192.168.10.23 dup to 192.168.10.1 device "wlan0" ip saddr set 192.168.11.57 dup to 192.168.11.1 device "wlan1" ' +
          'meta mark set meta mark and 0xffefffff ip saddr set 100.64.0.12',
      ],
    },
  ];
  for (const { name, given, want } of table) assert.deepEqual(dupRules(given), want, name);
  assert.equal(COPY_BIT & 0xffff, 0, 'the copy bit is clear of the agent\'s 0x52xx marks');
  assert.equal(dupUpdateScript({ endpoint, uplinks: [wlan0] }),
    'flush chain ip roamlink_dup out\n' +
    'add rule ip roamlink_dup out meta mark & 0x00100000 == 0x00100000 oifname "wlan0" ip daddr 198.51.100.2 udp dport 51820 counter name "dup_wlan0" accept\n' +
    'add rule ip roamlink_dup out meta mark & 0x00100000 == 0x00100000 accept\n');
});

test('driver: the table, then the rules for the routes as they are at start; stop deletes the table', async () => {
  let now = routes;
  const scripts: string[] = [];
  const runner: Runner = async (argv, opts) => {
    if (argv[0] === 'ip' && argv[1] === '-j') return { stdout: now, stderr: '', exitCode: 0 };
    if (argv[0] === 'nft') scripts.push(opts?.input ?? '');
    return { stdout: '', stderr: '', exitCode: 0 };
  };
  // `ip monitor` in a namespace that does not exist exits at once: the driver is fed by `ready` alone here.
  const d = startDupEverything({ netns: `rlt-none-${process.pid}`, endpoint, devices: DEVICES, run: runner });
  await d.ready;
  assert.equal(scripts[0], dupTableScript(DEVICES));
  assert.equal(scripts[1], dupUpdateScript({ endpoint, uplinks: [wlan0, wlan1] }));
  assert.deepEqual(d.current(), { spec: { endpoint, uplinks: [wlan0, wlan1] }, renders: 1 });
  await d.stop();
  assert.match(scripts.at(-1)!, /^table ip roamlink_dup\ndelete table ip roamlink_dup\n$/);
});

test('driver: a new lease (address and gateway) re-renders the rules; the same routes do not', async () => {
  const leased = JSON.parse(routes) as Array<Record<string, unknown>>;
  let now = JSON.stringify(leased);
  const scripts: string[] = [];
  const runner: Runner = async (argv, opts) => {
    if (argv[0] === 'ip' && argv[1] === '-j') return { stdout: now, stderr: '', exitCode: 0 };
    if (argv[0] === 'nft') scripts.push(opts?.input ?? '');
    return { stdout: '', stderr: '', exitCode: 0 };
  };
  const d = startDupEverything({ netns: `rlt-none-${process.pid}`, endpoint, devices: DEVICES, run: runner });
  await d.ready;
  // wlan1 re-addressed (a new AP, a new lease), wwan0 gets its lease.
  now = JSON.stringify([
    ...leased.filter((r) => r.dev !== 'wlan1'),
    { dst: 'default', gateway: '192.168.12.1', dev: 'wlan1', table: '102', prefsrc: '192.168.12.9', flags: ['onlink'] },
    { dst: 'default', gateway: '100.64.0.1', dev: 'wwan0', table: '103', prefsrc: '100.64.0.12', flags: ['onlink'] },
  ]);
  await d.refresh();
  const moved = { device: 'wlan1', address: '192.168.12.9', gateway: '192.168.12.1' };
  assert.deepEqual(d.current(), { spec: { endpoint, uplinks: [wlan0, moved, wwan0] }, renders: 2 });
  assert.equal(scripts.at(-1), dupUpdateScript({ endpoint, uplinks: [wlan0, moved, wwan0] }));
  await d.refresh();
  assert.equal(d.current().renders, 2, 'the same routes: no new render');
  await d.stop();
});

test('counters: the copies per uplink from nft -j', () => {
  const json = JSON.stringify({ nftables: [
    { metainfo: { version: '1.0.6' } },
    { counter: { family: 'ip', name: 'dup_wlan1', table: 'roamlink_dup', handle: 2, packets: 12, bytes: 1680 } },
    { counter: { family: 'ip', name: 'dup_wwan0', table: 'roamlink_dup', handle: 3, packets: 0, bytes: 0 } },
    { counter: { family: 'ip', name: 'other', table: 'roamlink_dup', handle: 4, packets: 5, bytes: 5 } },
  ] });
  assert.deepEqual(parseDupCounters(json), { wlan1: { packets: 12, bytes: 1680 }, wwan0: { packets: 0, bytes: 0 } });
});

const isRoot = process.getuid?.() === 0;

test('nft accepts the rules, and a packet to HQ through wlan0 leaves once through each uplink, with its own source', { skip: !isRoot && 'needs root' }, async (t) => {
  const ns = `rlt-dup-${process.pid}`;
  await run(['ip', 'netns', 'add', ns]);
  t.after(async () => {
    await run(['ip', 'netns', 'del', ns], { allowFail: true });
  });
  const inNs = (argv: string[], input?: string) => run(argv, { netns: ns, ...(input ? { input } : {}) });
  const spec: DupSpec = { endpoint, uplinks: [wlan0, wlan1, wwan0] };
  await inNs(['nft', '-c', '-f', '-'], dupTableScript(DEVICES));
  assert.equal((await inNs(['nft', 'list', 'ruleset'])).stdout.trim(), '', 'checking changes nothing');

  // Three uplinks, each a veth whose peer (p<name>) is its "gateway" (a permanent neighbour entry), in one namespace.
  const lines: string[] = [];
  for (const u of spec.uplinks) {
    lines.push(`link add ${u.device} type veth peer name p${u.device}`, `link set ${u.device} up`, `link set p${u.device} up`,
      `addr add ${u.address}/24 dev ${u.device}`);
  }
  await inNs(['ip', '-batch', '-'], lines.join('\n') + '\n');
  for (const u of spec.uplinks) {
    const mac = (JSON.parse((await inNs(['ip', '-j', 'link', 'show', `p${u.device}`])).stdout) as Array<{ address: string }>)[0]!.address;
    await inNs(['ip', 'neigh', 'replace', u.gateway, 'lladdr', mac, 'dev', u.device, 'nud', 'permanent']);
    await inNs(['ip', 'route', 'add', 'default', 'via', u.gateway, 'dev', u.device, 'src', u.address, 'table', String(101 + DEVICES.indexOf(u.device)), 'onlink']);
  }
  await inNs(['ip', 'route', 'add', `${endpoint.address}/32`, 'via', wlan0.gateway, 'dev', 'wlan0', 'onlink']);
  // What arrives at each gateway's port: packets to HQ's WireGuard, by their source.
  await inNs(['nft', '-f', '-'], [
    'table inet seen {',
    ...spec.uplinks.map((u) => `  counter p${u.device} { }`),
    '  chain pre {',
    '    type filter hook prerouting priority raw; policy accept;',
    ...spec.uplinks.map((u) => `    iifname "p${u.device}" ip saddr ${u.address} udp dport ${endpoint.port} counter name "p${u.device}"`),
    '  }',
    '}',
  ].join('\n') + '\n');

  let rendered: (s: DupSpec) => void = () => {};
  const d = startDupEverything({ netns: ns, endpoint, devices: DEVICES, onRender: (s) => rendered(s) });
  t.after(() => d.stop());
  await d.ready;
  assert.deepEqual(d.current().spec, spec);
  await inNs(['nft', '-c', '-f', '-'], dupUpdateScript(spec));

  // Three datagrams to HQ's WireGuard (routed through wlan0), sent by a process in the namespace.
  await inNs([process.execPath, '-e', `
    const s = require('node:dgram').createSocket('udp4');
    let n = 0;
    const next = () => n++ < 3 ? s.send('x'.repeat(100), ${endpoint.port}, '${endpoint.address}', next) : s.close();
    next();`]);
  const seenJson = (await inNs(['nft', '-j', 'list', 'counters', 'table', 'inet', 'seen'])).stdout;
  const seen = Object.fromEntries((JSON.parse(seenJson) as { nftables: Array<{ counter?: { name: string; packets: number } }> }).nftables
    .filter((o) => o.counter).map((o) => [o.counter!.name, o.counter!.packets]));
  assert.deepEqual(seen, { pwlan0: 3, pwlan1: 3, pwwan0: 3 }, 'each datagram once through every uplink, from that uplink\'s address');
  const copies = await d.counters();
  assert.deepEqual(Object.fromEntries(Object.entries(copies).map(([k, v]) => [k, v.packets])), { wlan0: 0, wlan1: 3, wwan0: 3 }, 'the copies counted where they went');
  assert.equal(copies.wlan1!.bytes, 3 * (20 + 8 + 100), 'bytes as IP packets');

  // wwan0 loses its lease (its default route goes): the rules follow `ip monitor route`, and wwan0 carries nothing more.
  const twoLeft = new Promise<DupSpec>((resolve) => { rendered = (s) => s.uplinks.length === 2 && resolve(s); });
  await inNs(['ip', 'route', 'del', 'default', 'table', '103']);
  await Promise.race([twoLeft, new Promise((_, reject) => setTimeout(() => reject(new Error('no render within 5 s of the route change')), 5000).unref())]);
  assert.deepEqual(d.current().spec?.uplinks, [wlan0, wlan1], 'the rules re-rendered on the route change');

  await d.stop();
  assert.equal((await inNs(['nft', 'list', 'tables'])).stdout.trim(), 'table inet seen', 'stop removes the table');
});

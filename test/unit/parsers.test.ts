// The agent's pure parsers: udhcpc hook lines, `ip -o link`/`ip -o monitor` lines (captured), and the probe datagram codec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { parseHookLine, type DhcpEvent } from '../../agent/drivers/dhcp/udhcpc.js';
import { parseLinkLine, type LinkState } from '../../agent/drivers/links/link.monitor.js';
import { createUdpProber, decodeProbe, encodeProbe, PROBE_MAGIC, PROBE_SIZE } from '../../agent/drivers/probe/udp.probe.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../../test/fixtures/agent/${name}`, import.meta.url)), 'utf8');

/** A line as the hook script prints it (udhcpc's environment: mask is a prefix length, router a list). */
const hook = (event: string, v: { ip?: string; mask?: string; router?: string; lease?: string } = {}) =>
  JSON.stringify({ event, ip: v.ip ?? '', mask: v.mask ?? '', router: v.router ?? '', lease: v.lease ?? '' });

test('parseHookLine', () => {
  const full = { ip: '192.168.50.23', mask: '24', router: '192.168.50.1', lease: '3600' };
  const lease = { address: '192.168.50.23', prefix: 24, router: '192.168.50.1', leaseSeconds: 3600 };
  const table: Array<{ name: string; given: string; want: DhcpEvent | null | 'incomplete' }> = [
    { name: 'bound', given: hook('bound', full), want: { type: 'dhcp.bound', lease } },
    { name: 'renew', given: hook('renew', full), want: { type: 'dhcp.bound', lease } },
    { name: 'several routers: the first', given: hook('bound', { ...full, router: '192.168.50.1 192.168.50.254' }), want: { type: 'dhcp.bound', lease } },
    { name: 'a /32 (LTE)', given: hook('bound', { ip: '100.64.7.9', mask: '32', router: '100.64.7.1', lease: '7200' }), want: { type: 'dhcp.bound', lease: { address: '100.64.7.9', prefix: 32, router: '100.64.7.1', leaseSeconds: 7200 } } },
    { name: 'no lease time', given: hook('bound', { ...full, lease: '' }), want: { type: 'dhcp.bound', lease: { ...lease, leaseSeconds: 0 } } },
    { name: 'no router', given: hook('bound', { ...full, router: '' }), want: 'incomplete' },
    { name: 'no address', given: hook('bound', { ...full, ip: '' }), want: 'incomplete' },
    // No subnet option from the server: udhcpc leaves $mask empty. Not a /0 (that would route everything out of it).
    { name: 'no mask', given: hook('bound', { ...full, mask: '' }), want: 'incomplete' },
    { name: 'mask out of range', given: hook('bound', { ...full, mask: '33' }), want: 'incomplete' },
    { name: 'mask as a dotted quad', given: hook('bound', { ...full, mask: '255.255.255.0' }), want: 'incomplete' },
    { name: 'deconfig', given: hook('deconfig'), want: { type: 'dhcp.lost', why: 'deconfig' } },
    { name: 'leasefail', given: hook('leasefail'), want: { type: 'dhcp.lost', why: 'leasefail' } },
    { name: 'nak', given: hook('nak'), want: { type: 'dhcp.lost', why: 'nak' } },
    { name: 'an event we do not handle', given: hook('6rd'), want: null },
    { name: 'udhcpc chatter', given: 'udhcpc: broadcasting discover', want: null },
    { name: 'empty', given: '', want: null },
    { name: 'truncated JSON', given: hook('bound', full).slice(0, 30), want: null },
    { name: 'JSON null', given: 'null', want: null },
    { name: 'a JSON number', given: '42', want: null },
    { name: 'a JSON array', given: '["bound"]', want: null },
  ];
  for (const { name, given, want } of table) {
    let got: DhcpEvent | null;
    try {
      got = parseHookLine(given);
    } catch (err) {
      assert.fail(`${name}: threw ${String(err)}`);
    }
    if (want === 'incomplete') {
      assert.equal(got?.type, 'dhcp.lost', name);
      assert.match((got as { why: string }).why, /^incomplete lease: /, name);
    } else {
      assert.deepEqual(got, want, name);
    }
  }
});

/** Every line of a fixture that parses, in order (comment lines are not link lines). */
const parsed = (text: string): LinkState[] => text.split('\n').map(parseLinkLine).filter((s): s is LinkState => s !== null);

test('parseLinkLine: `ip -o link show` (peers named with @, NO-CARRIER, a link without UP)', () => {
  assert.deepEqual(parsed(fixture('ip-link-show.txt')), [
    { ifname: 'lo', carrier: false },
    { ifname: 'wlan0-ap', carrier: true },
    { ifname: 'wlan0', carrier: true },
    { ifname: 'wwan0-c', carrier: false },
    { ifname: 'wwan0', carrier: false },
  ]);
});

test('parseLinkLine: `ip -o monitor link` (carrier lost and back, a link deleted)', () => {
  assert.deepEqual(parsed(fixture('ip-monitor-link.txt')), [
    { ifname: 'wlan0-ap', carrier: false },
    { ifname: 'wlan0', carrier: false },
    // UP and LOWER_UP, but NO-CARRIER: the kernel has not called the link running yet (operstate LOWERLAYERDOWN;
    // a Wi-Fi link stays so, DORMANT, until its 4-way handshake is done). Not carrier.
    { ifname: 'wlan0-ap', carrier: false },
    { ifname: 'wlan0-ap', carrier: true },
    { ifname: 'wlan0', carrier: true },
    { ifname: 'wwan0', carrier: false },
    { ifname: 'wwan0', carrier: false },
    { ifname: 'wwan0-c', carrier: false },
  ]);
});

test('parseLinkLine: `ip -o monitor all` ([LINK] prefix; [ADDR]/[ROUTE]/[NEIGH]/[NETCONF] lines ignored, even Deleted ones)', () => {
  assert.deepEqual(parsed(fixture('ip-monitor-all.txt')), [
    { ifname: 'wlan0-ap', carrier: false },
    { ifname: 'wlan0', carrier: false },
    { ifname: 'wlan0-ap', carrier: false },
    { ifname: 'wlan0-ap', carrier: true },
    { ifname: 'wlan0', carrier: true },
    { ifname: 'wlan0', carrier: false },
    { ifname: 'wlan0-ap', carrier: false },
    { ifname: 'wlan0', carrier: false },
    { ifname: 'wlan0-ap', carrier: false },
  ]);
});

test('parseLinkLine: single lines', () => {
  const table: Array<{ name: string; given: string; want: LinkState | null }> = [
    { name: 'up with carrier', given: '3: wlan0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP mode DORMANT group default qlen 1000\\    link/ether 02:00:00:00:01:00 brd ff:ff:ff:ff:ff:ff', want: { ifname: 'wlan0', carrier: true } },
    { name: 'Wi-Fi associated, handshake not done (DORMANT)', given: '3: wlan0: <NO-CARRIER,BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state DORMANT mode DORMANT group default qlen 1000\\    link/ether 02:00:00:00:01:00 brd ff:ff:ff:ff:ff:ff', want: { ifname: 'wlan0', carrier: false } },
    { name: 'LOWER_UP but administratively down', given: '4: wwan0: <POINTOPOINT,NOARP,LOWER_UP> mtu 1500 qdisc noop state DOWN group default \\    link/none ', want: { ifname: 'wwan0', carrier: false } },
    { name: 'raw-ip LTE up', given: '4: wwan0: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UNKNOWN group default qlen 1000\\    link/none ', want: { ifname: 'wwan0', carrier: true } },
    { name: 'peer in another namespace', given: '7: wlan1@if6: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000\\    link/ether 02:00:00:00:02:00 brd ff:ff:ff:ff:ff:ff link-netns rl-ap2', want: { ifname: 'wlan1', carrier: true } },
    { name: 'Deleted, even with LOWER_UP in its flags', given: 'Deleted 7: wlan1@if6: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default \\    link/ether 02:00:00:00:02:00 brd ff:ff:ff:ff:ff:ff', want: { ifname: 'wlan1', carrier: false } },
    { name: '[LINK]Deleted', given: '[LINK]Deleted 7: wlan1@NONE: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default \\    link/ether 02:00:00:00:02:00 brd ff:ff:ff:ff:ff:ff', want: { ifname: 'wlan1', carrier: false } },
    { name: 'an address line', given: '[ADDR]3: wlan0    inet 192.168.50.23/24 brd 192.168.50.255 scope global wlan0\\       valid_lft forever preferred_lft forever', want: null },
    { name: 'a deleted address line', given: '[ADDR]Deleted 3: wlan0    inet 192.168.50.23/24 scope global wlan0\\       valid_lft forever preferred_lft forever', want: null },
    { name: 'a route line', given: '[ROUTE]Deleted 192.168.50.0/24 dev wlan0 proto kernel scope link src 192.168.50.23', want: null },
    { name: 'empty', given: '', want: null },
  ];
  for (const { name, given, want } of table) assert.deepEqual(parseLinkLine(given), want, name);
});

test('probe codec: round trip and refusal of anything else', () => {
  for (const [id, seq] of [[0, 0], [1, 1], [0xdeadbeef, 7], [0xffffffff, 0xffffffff]] as const) {
    const b = encodeProbe(id, seq);
    assert.equal(b.length, PROBE_SIZE);
    assert.equal(b.readUInt32BE(0), PROBE_MAGIC);
    assert.equal(b.subarray(0, 4).toString('latin1'), 'RLP1');
    assert.deepEqual(decodeProbe(b), { id, seq });
  }
  // Ids past 32 bits wrap instead of throwing (the prober's counter runs on).
  assert.deepEqual(decodeProbe(encodeProbe(2 ** 32 + 5, 2 ** 32 + 1)), { id: 5, seq: 1 });

  const good = encodeProbe(42, 9);
  const wgHandshake = Buffer.alloc(148);
  wgHandshake[0] = 1; // WireGuard handshake initiation
  const foreign: Array<{ name: string; b: Buffer }> = [
    { name: 'empty', b: Buffer.alloc(0) },
    { name: 'one byte short', b: good.subarray(0, PROBE_SIZE - 1) },
    { name: 'one byte long', b: Buffer.concat([good, Buffer.from([0])]) },
    { name: 'wrong magic', b: Buffer.from(good).fill(0x51, 0, 1) },
    { name: 'all zero', b: Buffer.alloc(PROBE_SIZE) },
    { name: 'a WireGuard handshake', b: wgHandshake },
    { name: 'text of the right length', b: Buffer.from('not a probe, 24 bytes...') },
  ];
  for (const { name, b } of foreign) assert.equal(decodeProbe(b), null, name);
});

test('UDP prober against a loopback echo: RTT on the matching reply, foreign replies ignored, abort rejects', async (t) => {
  const echo = createSocket('udp4');
  let mode: 'echo' | 'foreign-then-echo' | 'silent' = 'echo';
  echo.on('message', (msg, from) => {
    if (mode === 'silent') return;
    if (mode === 'foreign-then-echo') {
      const p = decodeProbe(msg)!;
      echo.send(encodeProbe(p.id + 1, p.seq), from.port, from.address); // another prober's reply
      echo.send(encodeProbe(p.id, p.seq + 1), from.port, from.address); // a later sequence number
      echo.send(Buffer.from('garbage'), from.port, from.address);
    }
    echo.send(msg, from.port, from.address);
  });
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', () => r()));
  t.after(() => echo.close());
  const prober = await createUdpProber('127.0.0.1', { address: '127.0.0.1', port: echo.address().port });
  t.after(() => prober.close());

  const rtt = await prober.probe(AbortSignal.timeout(2000));
  assert.ok(rtt >= 0 && rtt < 2000, `rtt ${rtt}`);

  mode = 'foreign-then-echo';
  assert.ok((await prober.probe(AbortSignal.timeout(2000))) >= 0);

  mode = 'silent';
  const ac = new AbortController();
  const pending = prober.probe(ac.signal);
  setTimeout(() => ac.abort(), 20);
  await assert.rejects(pending, /probe timed out/);
  await assert.rejects(prober.probe(AbortSignal.abort()), /probe timed out/);
});

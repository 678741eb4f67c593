// Per-uplink policy routing: the desired state as tables, and the driver against a stateful model of `ip` (golden text).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRoutingDriver, desiredUplinkRouting, tunnelRule, uplinkMark, uplinkTable, type UplinkRouting } from '../../agent/drivers/routing/uplink.routing.js';
import type { Lease } from '../../agent/drivers/dhcp/udhcpc.js';
import { CommandError, type Runner, type RunOptions } from '../../shared/exec.js';
import { Ip } from '../../shared/ip.js';

const WG_MARK = 0x5200;
const wlan0 = { name: 'wlan0', slot: 1 };
const wlan1 = { name: 'wlan1', slot: 2 };
const wwan0 = { name: 'wwan0', slot: 3 };
const lease = (address: string, prefix: number, router: string): Lease => ({ address, prefix, router, leaseSeconds: 3600 });

test('uplinkTable, uplinkMark, tunnelRule', () => {
  const table: Array<{ name: string; got: unknown; want: unknown }> = [
    { name: 'slot 1 table', got: uplinkTable(wlan0), want: 101 },
    { name: 'slot 3 table', got: uplinkTable(wwan0), want: 103 },
    { name: 'slot 1 mark', got: uplinkMark(WG_MARK, wlan0), want: 0x5201 },
    { name: 'slot 3 mark', got: uplinkMark(WG_MARK, wwan0), want: 0x5203 },
    { name: 'another wg mark', got: uplinkMark(0x100, wlan1), want: 0x102 },
    { name: 'tunnel rule', got: tunnelRule(WG_MARK), want: { priority: 1200, fwmark: 0x5200, table: 100 } },
  ];
  for (const { name, got, want } of table) assert.deepEqual(got, want, name);
});

test('desiredUplinkRouting', () => {
  const table: Array<{ name: string; u: typeof wlan0; given: Lease; want: UplinkRouting }> = [
    {
      name: 'Wi-Fi /24', u: wlan0, given: lease('192.168.50.23', 24, '192.168.50.1'),
      want: {
        table: 101,
        routes: [
          { dst: '192.168.50.0/24', dev: 'wlan0', src: '192.168.50.23', table: 101 },
          { dst: 'default', via: '192.168.50.1', dev: 'wlan0', src: '192.168.50.23', table: 101, onlink: true },
        ],
        rules: [{ priority: 1001, from: '192.168.50.23/32', table: 101 }, { priority: 1101, fwmark: 0x5201, table: 101 }],
      },
    },
    {
      name: 'LTE /30, slot 3', u: wwan0, given: lease('100.64.7.10', 30, '100.64.7.9'),
      want: {
        table: 103,
        routes: [
          { dst: '100.64.7.8/30', dev: 'wwan0', src: '100.64.7.10', table: 103 },
          { dst: 'default', via: '100.64.7.9', dev: 'wwan0', src: '100.64.7.10', table: 103, onlink: true },
        ],
        rules: [{ priority: 1003, from: '100.64.7.10/32', table: 103 }, { priority: 1103, fwmark: 0x5203, table: 103 }],
      },
    },
  ];
  for (const { name, u, given, want } of table) assert.deepEqual(desiredUplinkRouting(u, WG_MARK, given), want, name);

  // The connected network: addresses with the top bit set, odd prefixes, a /32.
  const nets: Array<[Lease, string]> = [
    [lease('203.0.113.200', 25, '203.0.113.129'), '203.0.113.128/25'],
    [lease('255.255.255.254', 31, '255.255.255.255'), '255.255.255.254/31'],
    [lease('172.16.5.4', 16, '172.16.0.1'), '172.16.0.0/16'],
    [lease('10.99.3.77', 8, '10.0.0.1'), '10.0.0.0/8'],
    [lease('100.64.7.9', 32, '100.64.7.1'), '100.64.7.9/32'],
  ];
  for (const [l, want] of nets) assert.equal(desiredUplinkRouting(wlan1, WG_MARK, l).routes[0]!.dst, want, `${l.address}/${l.prefix}`);
});

/**
 * A model of the kernel as `ip` shows it: addresses, routes per table, rules. It answers the argv the driver sends as
 * iproute2 6.1 does on this kernel (measured: a duplicate `rule add` is EEXIST, a src that is not local is refused,
 * flushing a table never created fails, an address of another prefix is a second address) and throws on any argv it
 * does not know, even under allowFail, so nothing passes by being ignored.
 */
class FakeIpOs {
  addrs: Array<{ dev: string; local: string; prefix: number }> = [];
  tables = new Map<string, Array<{ dst: string; via?: string; dev: string; src?: string; onlink?: boolean; kernel?: boolean }>>();
  rules: Array<{ priority: number; from?: string; fwmark?: number; table: string }> = [];
  log: string[] = [];
  /** Called after every command, with the command: lets a test watch the state in between. */
  onCommand: (argv: string) => void = () => {};

  constructor(readonly devs: string[]) {}

  runner: Runner = async (argv, opts: RunOptions = {}) => {
    const line = argv.join(' ');
    this.log.push(line);
    const [code, stderr] = this.exec([...argv]);
    this.onCommand(line);
    if (code !== 0 && !opts.allowFail) throw new CommandError(argv, code, stderr, '');
    return { stdout: '', stderr, exitCode: code };
  };

  private unknown(argv: string[]): never {
    throw new Error(`fake ip: unknown command: ${argv.join(' ')}`);
  }

  private dev(name: string | undefined, argv: string[]): string {
    if (name === undefined) this.unknown(argv);
    if (!this.devs.includes(name)) throw new Error(`fake ip: no device ${name}: ${argv.join(' ')}`);
    return name;
  }

  private table(t: string) {
    let r = this.tables.get(t);
    if (!r) this.tables.set(t, (r = []));
    return r;
  }

  private exec(argv: string[]): [number, string] {
    if (argv[0] !== 'ip') this.unknown(argv);
    const [, obj, verb, ...rest] = argv;
    const key = `${obj} ${verb}`;
    if (key === 'addr replace' && rest.length === 3 && rest[1] === 'dev') {
      const [local, p] = rest[0]!.split('/');
      const prefix = Number(p);
      const dev = this.dev(rest[2], argv);
      if (!local || !/^\d+\.\d+\.\d+\.\d+$/.test(local) || !(prefix >= 0 && prefix <= 32)) return [1, `Error: any valid prefix is expected rather than "${rest[0]}".`];
      if (!this.addrs.some((a) => a.dev === dev && a.local === local && a.prefix === prefix)) {
        this.addrs.push({ dev, local, prefix });
        this.table('main').push({ dst: net(local, prefix), dev, src: local, kernel: true });
      }
      return [0, ''];
    }
    if (key === 'addr flush' && rest.length === 2 && rest[0] === 'dev') {
      const dev = this.dev(rest[1], argv);
      for (const a of this.addrs.filter((x) => x.dev === dev)) this.removeAddr(a);
      return [0, ''];
    }
    if (key === 'route replace') {
      const r = parseRoute(rest, argv, (d) => this.dev(d, argv));
      if (r.src && !this.addrs.some((a) => a.local === r.src)) return [2, 'Error: Invalid prefsrc address.'];
      if (r.via && !r.onlink && !this.addrs.some((a) => a.dev === r.dev && net(r.via!, a.prefix) === net(a.local, a.prefix))) {
        return [2, 'Error: Nexthop has invalid gateway.'];
      }
      const t = this.table(r.table);
      const i = t.findIndex((x) => x.dst === r.dst);
      const { table: _, ...route } = r;
      if (i >= 0) t[i] = route;
      else t.push(route);
      return [0, ''];
    }
    if (key === 'route flush' && rest.length === 2 && rest[0] === 'table') {
      const t = this.tables.get(rest[1]!);
      if (!t) return [2, 'Error: ipv4: FIB table does not exist.\nFlush terminated'];
      t.length = 0;
      return [0, ''];
    }
    if (key === 'rule add' || key === 'rule del') {
      const r = parseRule(rest, argv);
      const i = this.rules.findIndex((x) => x.priority === r.priority && x.from === r.from && x.fwmark === r.fwmark && x.table === r.table);
      if (verb === 'add') {
        if (i >= 0) return [2, 'RTNETLINK answers: File exists'];
        this.rules.push(r);
        this.rules.sort((a, b) => a.priority - b.priority);
      } else {
        if (i < 0) return [2, 'RTNETLINK answers: No such file or directory'];
        this.rules.splice(i, 1);
      }
      return [0, ''];
    }
    this.unknown(argv);
  }

  /** Removing an address also removes the routes that use it as their source, in every table (as the kernel does). */
  private removeAddr(a: { dev: string; local: string; prefix: number }) {
    this.addrs = this.addrs.filter((x) => x !== a);
    if (this.addrs.some((x) => x.local === a.local)) return;
    for (const t of this.tables.values()) {
      for (let i = t.length - 1; i >= 0; i--) if (t[i]!.src === a.local) t.splice(i, 1);
    }
  }

  /** The whole state as text, in a stable order: what the golden strings below compare against. */
  dump(): string {
    const out: string[] = [];
    for (const a of [...this.addrs].sort((x, y) => x.dev.localeCompare(y.dev))) out.push(`addr ${a.dev} ${a.local}/${a.prefix}`);
    for (const r of this.rules) {
      out.push(`rule ${r.priority}${r.from ? ` from ${r.from}` : ''}${r.fwmark !== undefined ? ` fwmark 0x${r.fwmark.toString(16)}` : ''} lookup ${r.table}`);
    }
    for (const name of [...this.tables.keys()].sort()) {
      for (const r of this.tables.get(name)!) {
        out.push(`route table ${name} ${r.dst}${r.via ? ` via ${r.via}` : ''} dev ${r.dev}${r.kernel ? ' proto kernel scope link' : ''}${r.src ? ` src ${r.src}` : ''}${r.onlink ? ' onlink' : ''}`);
      }
    }
    return out.join('\n');
  }
}

function net(address: string, prefix: number): string {
  const n = address.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - prefix);
  const base = Math.floor(n / size) * size;
  return `${[24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join('.')}/${prefix}`;
}

function parseRoute(a: string[], argv: string[], dev: (d: string) => string) {
  const r: { dst: string; via?: string; dev: string; src?: string; table: string; onlink?: boolean } = { dst: a[0] ?? '', dev: '', table: 'main' };
  if (r.dst !== 'default' && !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(r.dst)) throw new Error(`fake ip: bad route dst: ${argv.join(' ')}`);
  for (let i = 1; i < a.length; i++) {
    const k = a[i]!;
    if (k === 'onlink') r.onlink = true;
    else if (k === 'via') r.via = a[++i];
    else if (k === 'dev') r.dev = dev(a[++i]!);
    else if (k === 'src') r.src = a[++i];
    else if (k === 'table') r.table = a[++i]!;
    else throw new Error(`fake ip: unknown route argument ${k}: ${argv.join(' ')}`);
  }
  if (!r.dev) throw new Error(`fake ip: route without dev: ${argv.join(' ')}`);
  return r;
}

function parseRule(a: string[], argv: string[]) {
  const r: { priority: number; from?: string; fwmark?: number; table: string } = { priority: NaN, table: '' };
  for (let i = 0; i < a.length; i += 2) {
    const [k, v] = [a[i], a[i + 1]];
    if (v === undefined) throw new Error(`fake ip: rule argument ${k} without a value: ${argv.join(' ')}`);
    if (k === 'priority') r.priority = Number(v);
    else if (k === 'from') r.from = v;
    else if (k === 'fwmark' && /^0x[0-9a-f]+$/.test(v)) r.fwmark = parseInt(v, 16);
    else if (k === 'lookup') r.table = v;
    else throw new Error(`fake ip: unknown rule argument ${k} ${v}: ${argv.join(' ')}`);
  }
  if (!Number.isInteger(r.priority) || !r.table) throw new Error(`fake ip: incomplete rule: ${argv.join(' ')}`);
  return r;
}

function setup() {
  const os = new FakeIpOs(['wlan0', 'wlan1', 'wwan0']);
  const driver = createRoutingDriver(new Ip(undefined, os.runner), WG_MARK);
  return { os, driver };
}

const L1 = lease('192.168.50.23', 24, '192.168.50.1');
const L1_STATE = [
  'addr wlan0 192.168.50.23/24',
  'rule 1001 from 192.168.50.23/32 lookup 101',
  'rule 1101 fwmark 0x5201 lookup 101',
  'rule 1200 fwmark 0x5200 lookup 100',
  'route table 101 192.168.50.0/24 dev wlan0 src 192.168.50.23',
  'route table 101 default via 192.168.50.1 dev wlan0 src 192.168.50.23 onlink',
  'route table main 192.168.50.0/24 dev wlan0 proto kernel scope link src 192.168.50.23',
].join('\n');

test('routing driver: init, then apply an uplink\'s lease', async () => {
  const { os, driver } = setup();
  await driver.init();
  await driver.init();
  assert.equal(os.dump(), 'rule 1200 fwmark 0x5200 lookup 100');
  await driver.apply(wlan0, L1);
  assert.equal(os.dump(), L1_STATE);
});

test('routing driver: re-applying the same lease (a renew) changes nothing, not even for a moment', async () => {
  const { os, driver } = setup();
  await driver.init();
  await driver.apply(wlan0, L1);
  const before = os.dump();
  // A renew of the active uplink: its rules carry the tunnel's outer packets, so they must never be missing.
  const gaps: string[] = [];
  os.onCommand = (cmd) => {
    for (const r of desiredUplinkRouting(wlan0, WG_MARK, L1).rules) {
      const present = os.rules.some((x) => x.priority === r.priority && x.table === String(r.table) && x.from === r.from && x.fwmark === r.fwmark);
      if (!present) gaps.push(`after \`${cmd}\`: rule ${r.priority} missing`);
    }
  };
  await driver.apply(wlan0, L1, L1);
  await driver.apply(wlan0, { ...L1, leaseSeconds: 1800 }, L1);
  assert.deepEqual(gaps, []);
  assert.equal(os.dump(), before);
});

test('routing driver: a new lease replaces the old one; the other uplinks are untouched', async () => {
  const { os, driver } = setup();
  await driver.init();
  const W1 = lease('10.7.0.20', 24, '10.7.0.1');
  await driver.apply(wlan1, W1);
  await driver.apply(wlan0, L1);
  const wlan1Lines = (s: string) => s.split('\n').filter((l) => /wlan1|10\.7\.0\.20|lookup 102|1002|1102/.test(l));
  const wlan1Before = wlan1Lines(os.dump());
  assert.equal(wlan1Before.length, 6);

  // Another network (the AP moved us): the old address, routes and rules go.
  await driver.apply(wlan0, lease('192.168.77.5', 23, '192.168.76.1'), L1);
  assert.equal(os.dump().split('\n').filter((l) => !wlan1Before.includes(l)).join('\n'), [
    'addr wlan0 192.168.77.5/23',
    'rule 1001 from 192.168.77.5/32 lookup 101',
    'rule 1101 fwmark 0x5201 lookup 101',
    'rule 1200 fwmark 0x5200 lookup 100',
    'route table 101 192.168.76.0/23 dev wlan0 src 192.168.77.5',
    'route table 101 default via 192.168.76.1 dev wlan0 src 192.168.77.5 onlink',
    'route table main 192.168.76.0/23 dev wlan0 proto kernel scope link src 192.168.77.5',
  ].join('\n'));
  assert.deepEqual(wlan1Lines(os.dump()), wlan1Before);

  // Same address, another prefix: still one address and one connected route, of the new prefix.
  await driver.apply(wlan0, lease('192.168.77.5', 24, '192.168.77.1'), lease('192.168.77.5', 23, '192.168.76.1'));
  assert.equal(os.dump().split('\n').filter((l) => !wlan1Before.includes(l)).join('\n'), [
    'addr wlan0 192.168.77.5/24',
    'rule 1001 from 192.168.77.5/32 lookup 101',
    'rule 1101 fwmark 0x5201 lookup 101',
    'rule 1200 fwmark 0x5200 lookup 100',
    'route table 101 192.168.77.0/24 dev wlan0 src 192.168.77.5',
    'route table 101 default via 192.168.77.1 dev wlan0 src 192.168.77.5 onlink',
    'route table main 192.168.77.0/24 dev wlan0 proto kernel scope link src 192.168.77.5',
  ].join('\n'));
});

test('routing driver: the tunnel table follows the active uplink; clear removes one uplink and only it', async () => {
  const { os, driver } = setup();
  await driver.init();
  const LTE = lease('100.64.7.10', 30, '100.64.7.9');
  await driver.apply(wlan0, L1);
  await driver.apply(wwan0, LTE);
  await driver.setTunnelDefault(wlan0, L1);
  assert.match(os.dump(), /^route table 100 default via 192\.168\.50\.1 dev wlan0 src 192\.168\.50\.23 onlink$/m);
  await driver.setTunnelDefault(wwan0, LTE);
  assert.deepEqual(os.dump().split('\n').filter((l) => l.startsWith('route table 100 ')), ['route table 100 default via 100.64.7.9 dev wwan0 src 100.64.7.10 onlink']);

  await driver.clear(wlan0, L1);
  assert.equal(os.dump(), [
    'addr wwan0 100.64.7.10/30',
    'rule 1003 from 100.64.7.10/32 lookup 103',
    'rule 1103 fwmark 0x5203 lookup 103',
    'rule 1200 fwmark 0x5200 lookup 100',
    'route table 100 default via 100.64.7.9 dev wwan0 src 100.64.7.10 onlink',
    'route table 103 100.64.7.8/30 dev wwan0 src 100.64.7.10',
    'route table 103 default via 100.64.7.9 dev wwan0 src 100.64.7.10 onlink',
    'route table main 100.64.7.8/30 dev wwan0 proto kernel scope link src 100.64.7.10',
  ].join('\n'));
  // Clearing again, or an uplink that never had a lease, is harmless.
  await driver.clear(wlan0, L1);
  await driver.clear(wlan1);
  assert.match(os.dump(), /^addr wwan0 100\.64\.7\.10\/30$/m);
});

test('the fake refuses what the kernel refuses, and argv it does not know', async () => {
  const { os } = setup();
  const ip = new Ip(undefined, os.runner);
  await assert.rejects(ip.routeReplace({ dst: 'default', via: '10.0.0.1', dev: 'wlan0', src: '10.0.0.5', table: 101 }), /Invalid prefsrc/);
  await ip.addrReplace('wlan0', '10.0.0.5/24');
  await assert.rejects(ip.routeReplace({ dst: 'default', via: '10.9.0.1', dev: 'wlan0', table: 101 }), /invalid gateway/);
  await assert.rejects(ip.setUp('wlan0'), /fake ip: unknown command: ip link set dev wlan0 up/);
  await assert.rejects(ip.addrFlush('eth7'), /no device eth7/);
});

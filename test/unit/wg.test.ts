// The `wg` wrapper: key and name validation, the dump parser on captured output, the driver against a model of the OS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createWg, isIfName, isWgKey, parseWgDump, parseWgDumpAll, type WgPeerStatus } from '../../shared/wg.js';
import type { Runner, RunOptions, RunResult } from '../../shared/exec.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../../test/fixtures/wg/${name}`, import.meta.url)), 'utf8');

const PRIV = 'KPD+e8mvLdOOI+Wl9HYVjuOXj4U/izotj3qE2CZTbUA=';
const PUB = 'vBwEETu5b+Q42o8jdYbZf9+mTrdGdXZWs4hvdqy4WX4=';
const PEER = '3nkAHZdNH2ot4oJLIHI7gC0X6a6u5lCB999Li3n/vRs=';

test('isWgKey', () => {
  const table: Array<{ name: string; given: string; want: boolean }> = [
    { name: 'a real key', given: PUB, want: true },
    { name: 'all zero', given: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', want: true },
    { name: 'too short', given: PUB.slice(1), want: false },
    { name: 'no padding', given: PUB.slice(0, 43), want: false },
    { name: 'non-zero pad bits (not 32 bytes canonically)', given: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=', want: false },
    { name: 'url-safe alphabet', given: PUB.replace('+', '-'), want: false },
    { name: 'surrounding space', given: ` ${PUB}`, want: false },
    { name: 'empty', given: '', want: false },
    { name: '48 bytes', given: Buffer.alloc(48).toString('base64'), want: false },
  ];
  for (const { name, given, want } of table) assert.equal(isWgKey(given), want, name);
});

test('isIfName', () => {
  const table: Array<[string, boolean]> = [
    ['wg0', true], ['rl-hq.1_=+', true], ['a23456789012345', true], ['a234567890123456', false], ['', false], ['wg 0', false], ['wg/0', false],
  ];
  for (const [given, want] of table) assert.equal(isIfName(given), want, given);
});

test('parseWgDump: HQ with a connected and a never-seen peer (captured from wireguard-go)', () => {
  const got = parseWgDump(fixture('hq-two-peers.dump'));
  assert.deepEqual(got.interface, { publicKey: PUB, hasPrivateKey: true, listenPort: 51820, fwmark: null });
  assert.ok(!JSON.stringify(got).includes(PRIV), 'the private key is not kept');
  const byKey = new Map(got.peers.map((p) => [p.publicKey, p]));
  assert.deepEqual(byKey.get(PEER), {
    publicKey: PEER, hasPresharedKey: false, endpoint: '192.0.2.2:43898', allowedIps: ['10.99.0.2/32', '10.20.1.0/24'],
    latestHandshake: 1795251522, rxBytes: 564, txBytes: 476, keepalive: null,
  } satisfies WgPeerStatus);
  assert.deepEqual(byKey.get('zepmV05c8EzaCTyg8BLRMBwXn8KMDjQnVTTm3HOf5mA='), {
    publicKey: 'zepmV05c8EzaCTyg8BLRMBwXn8KMDjQnVTTm3HOf5mA=', hasPresharedKey: false, endpoint: null,
    allowedIps: ['10.99.0.3/32', '10.20.2.0/24'], latestHandshake: null, rxBytes: 0, txBytes: 0, keepalive: null,
  } satisfies WgPeerStatus);
});

test('parseWgDump: vehicle side, keepalive, and fwmark / IPv6 endpoint / no allowed-ips', () => {
  const v = parseWgDump(fixture('vehicle-one-peer.dump'));
  assert.equal(v.interface.listenPort, 43898);
  assert.equal(v.peers.length, 1);
  assert.equal(v.peers[0]!.keepalive, 25);
  assert.equal(v.peers[0]!.endpoint, '192.0.2.1:51820');
  assert.deepEqual(v.peers[0]!.allowedIps, ['10.99.0.0/24']);

  const f = parseWgDump(fixture('fwmark-ipv6-no-allowed-ips.dump'));
  assert.equal(f.interface.fwmark, 0x1234);
  const eps = f.peers.map((p) => [p.endpoint, p.allowedIps, p.keepalive]);
  assert.deepEqual(eps, [
    ['[2001:db8::1]:4000', ['10.99.0.3/32'], null],
    [null, [], null],
    ['192.0.2.1:51820', ['10.99.0.2/32', '10.20.1.0/24'], 25],
  ]);
});

test('parseWgDump: no private key yet, and malformed output', () => {
  const got = parseWgDump('(none)\t(none)\t0\toff\n');
  assert.deepEqual(got, { interface: { publicKey: null, hasPrivateKey: false, listenPort: 0, fwmark: null }, peers: [] });
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['a\tb\tc\n', /expected 4 interface fields/],
    [`${PRIV}\t${PUB}\t51820\toff\n${PEER}\t(none)\t(none)\n`, /line 2: expected 8 peer fields/],
    [`${PRIV}\t${PUB}\tport\toff\n`, /listen-port is not a number/],
  ];
  for (const [given, want] of bad) assert.throws(() => parseWgDump(given), want);
});

test('parseWgDumpAll', () => {
  const text = fixture('hq-two-peers.dump').split('\n').filter(Boolean).map((l) => `wg-hq\t${l}`).join('\n') +
    '\n' + fixture('vehicle-one-peer.dump').split('\n').filter(Boolean).map((l) => `wg-car\t${l}`).join('\n');
  const all = parseWgDumpAll(text);
  assert.deepEqual([...all.keys()], ['wg-hq', 'wg-car']);
  assert.equal(all.get('wg-hq')!.peers.length, 2);
  assert.equal(all.get('wg-car')!.peers[0]!.keepalive, 25);
});

// ---------------------------------------------------------------------------------------------------------------
// A model of the OS: links per namespace, wireguard-go processes and sockets, the wg state of each interface.
// It fails on any command it does not know, and on any argv that carries a private key.

interface FakeIf { kind: 'wireguard' | 'tun'; privateKey?: string; port: number; fwmark: number; peers: Map<string, { allowed: string[]; endpoint?: string; ka: number }> }

class FakeOS {
  kernelModule = false;
  links = new Map<string, FakeIf>(); // key: `${netns}/${name}`
  procs = new Map<number, string>(); // pid -> cmdline
  sockets = new Set<string>();
  /** systemd scopes asked for (systemd-run --scope). */
  scopes: string[] = [];
  log: string[] = [];
  private nextPid = 100;
  private secrets = new Set<string>([PRIV]);

  readonly run: Runner = async (argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> => {
    this.log.push((opts.netns ? `[${opts.netns}] ` : '') + argv.join(' '));
    for (const a of argv) for (const s of this.secrets) if (a.includes(s)) throw new Error(`private key in argv: ${argv.join(' ')}`);
    const r = this.exec([...argv], opts.netns ?? '', opts.input);
    if (r.exitCode !== 0 && !opts.allowFail) throw new Error(`fake: ${argv.join(' ')}: ${r.stderr}`);
    return r;
  };

  private exec(a: string[], ns: string, input?: string): RunResult {
    const ok = (stdout = ''): RunResult => ({ stdout, stderr: '', exitCode: 0 });
    const fail = (stderr: string, exitCode = 1): RunResult => ({ stdout: '', stderr, exitCode });
    const key = (n: string) => `${ns}/${n}`;
    const s = a.join(' ');
    let m: RegExpExecArray | null;
    if (s === 'wg genkey') { this.secrets.add(PRIV); return ok(`${PRIV}\n`); }
    if (s === 'wg pubkey') return input?.trim() === PRIV ? ok(`${PUB}\n`) : fail('wg: Key is not the correct length or format');
    if ((m = /^ip -d -j link show dev (\S+)$/.exec(s))) {
      const l = this.links.get(key(m[1]!));
      return l ? ok(JSON.stringify([{ ifname: m[1], linkinfo: { info_kind: l.kind } }])) : fail(`Device "${m[1]}" does not exist.`);
    }
    if ((m = /^ip link add dev (\S+) type wireguard$/.exec(s))) {
      if (!this.kernelModule) return fail('Error: Unknown device type.', 2);
      if (this.links.has(key(m[1]!))) return fail('RTNETLINK answers: File exists', 2);
      this.links.set(key(m[1]!), { kind: 'wireguard', port: 0, fwmark: 0, peers: new Map() });
      return ok();
    }
    if ((m = /^systemd-run --scope --quiet --collect --unit=(\S+) --description=.* (env -u WG_PROCESS_FOREGROUND wireguard-go \S+)$/.exec(s))) {
      this.scopes.push(m[1]!);
      return this.exec(m[2]!.split(' '), ns, input);
    }
    if ((m = /^env -u WG_PROCESS_FOREGROUND wireguard-go (\S+)$/.exec(s))) {
      if (this.sockets.has(`/run/wireguard/${m[1]}.sock`)) return fail('UAPI listen error: unix socket in use');
      this.links.set(key(m[1]!), { kind: 'tun', port: 0, fwmark: 0, peers: new Map() });
      this.sockets.add(`/run/wireguard/${m[1]}.sock`);
      this.procs.set(this.nextPid++, `wireguard-go ${m[1]}`);
      return ok();
    }
    if ((m = /^ip link del dev (\S+)$/.exec(s))) {
      if (!this.links.delete(key(m[1]!))) return fail('Cannot find device', 1);
      return ok(); // a wireguard-go in this model does not notice: deleteInterface must stop it itself
    }
    if ((m = /^pgrep -x -f (.+)$/.exec(s))) {
      const re = new RegExp(`^(?:${m[1]})$`); // pgrep -x -f: the whole command line matches the regex
      const pids = [...this.procs].filter(([, c]) => re.test(c)).map(([p]) => p);
      return pids.length ? ok(pids.join('\n') + '\n') : fail('', 1);
    }
    if ((m = /^kill -TERM (\d+)$/.exec(s))) return this.procs.delete(Number(m[1])) ? ok() : fail('No such process');
    if ((m = /^rm -f (\S+)$/.exec(s))) { this.sockets.delete(m[1]!); return ok(); }
    if (a[0] === 'wg' && (a[1] === 'set' || a[1] === 'show')) {
      const l = this.links.get(key(a[2]!));
      if (!l || (l.kind === 'tun' && !this.sockets.has(`/run/wireguard/${a[2]}.sock`))) return fail(`Unable to access interface: No such device`);
      if (a[1] === 'show') {
        if (a[3] === 'public-key') return ok(l.privateKey ? `${PUB}\n` : '(none)\n');
        if (a[3] !== 'dump') return fail(`fake: unknown show ${a[3]}`, 99);
        const lines = [`${l.privateKey ?? '(none)'}\t${l.privateKey ? PUB : '(none)'}\t${l.port}\t${l.fwmark ? `0x${l.fwmark.toString(16)}` : 'off'}`];
        for (const [pk, p] of l.peers) lines.push([pk, '(none)', p.endpoint ?? '(none)', p.allowed.join(',') || '(none)', 0, 0, 0, p.ka || 'off'].join('\t'));
        return ok(lines.join('\n') + '\n');
      }
      const args = a.slice(3);
      let peer: string | undefined;
      while (args.length) {
        const k = args.shift()!;
        if (k === 'remove' && peer) { l.peers.delete(peer); continue; }
        const v = args.shift();
        if (v === undefined) return fail(`fake: ${k} without value`, 99);
        if (k === 'private-key') {
          const st = statSync(v);
          if ((st.mode & 0o077) !== 0) return fail('fake: key file readable by others', 99);
          l.privateKey = readFileSync(v, 'utf8').trim();
        }
        else if (k === 'listen-port') l.port = Number(v);
        else if (k === 'fwmark') l.fwmark = v === 'off' ? 0 : Number(v);
        else if (k === 'peer') { peer = v; if (!(args[0] === 'remove') && !l.peers.has(v)) l.peers.set(v, { allowed: [], ka: 0 }); }
        else if (k === 'allowed-ips' && peer) l.peers.get(peer)!.allowed = v ? v.split(',') : [];
        else if (k === 'endpoint' && peer) l.peers.get(peer)!.endpoint = v;
        else if (k === 'persistent-keepalive' && peer) l.peers.get(peer)!.ka = v === 'off' ? 0 : Number(v);
        else return fail(`fake: unknown wg set argument ${k}`, 99);
      }
      return ok();
    }
    return fail(`fake: unknown command: ${s}`, 127);
  }
}

test('keys: genkey and pubkey through stdin', async () => {
  const os = new FakeOS();
  const wg = createWg(os.run);
  const priv = await wg.genKey();
  assert.equal(priv, PRIV);
  assert.equal(await wg.pubKey(priv), PUB);
  await assert.rejects(wg.pubKey('not a key'), (e: Error) => e.name === 'InputError' && !e.message.includes('not a key"'));
});

test('createInterface: wireguard-go without the module, kernel with it, reuse when present', async () => {
  const os = new FakeOS();
  const wg = createWg(os.run);
  assert.deepEqual(await wg.createInterface('rl-a', { netns: 'ns1' }), { implementation: 'wireguard-go', created: true });
  assert.ok(os.sockets.has('/run/wireguard/rl-a.sock'));
  assert.deepEqual(await wg.createInterface('rl-a', { netns: 'ns1' }), { implementation: 'wireguard-go', created: false });
  os.kernelModule = true;
  assert.deepEqual(await wg.createInterface('rl-b', { netns: 'ns1' }), { implementation: 'kernel', created: true });
  assert.deepEqual(await wg.createInterface('rl-b', { netns: 'ns1' }), { implementation: 'kernel', created: false });
  assert.deepEqual(await wg.createInterface('rl-c', { netns: 'ns1', implementation: 'wireguard-go' }), { implementation: 'wireguard-go', created: true });
  os.kernelModule = false;
  await assert.rejects(wg.createInterface('rl-d', { implementation: 'kernel' }), /kernel module/);
  await assert.rejects(wg.createInterface('name-too-long-xx'), /interface: "name-too-long-xx" is not an interface name/);
});

test('createInterface under systemd: wireguard-go in a scope of its own, outside the agent unit\'s cgroup', async () => {
  const os = new FakeOS();
  const wg = createWg(os.run, { ownScope: true });
  assert.deepEqual(await wg.createInterface('rl-a', { netns: 'ns1' }), { implementation: 'wireguard-go', created: true });
  assert.deepEqual(os.scopes, ['roamlink-wg-rl-a.scope']);
  assert.ok(os.sockets.has('/run/wireguard/rl-a.sock'));
  // Found running (a restarted agent): reused, no second scope.
  assert.deepEqual(await wg.createInterface('rl-a', { netns: 'ns1' }), { implementation: 'wireguard-go', created: false });
  assert.deepEqual(os.scopes, ['roamlink-wg-rl-a.scope']);
});

test('deleteInterface stops wireguard-go and removes its socket; deleting twice is fine', async () => {
  const os = new FakeOS();
  const wg = createWg(os.run);
  await wg.createInterface('rl-a', { netns: 'ns1' });
  await wg.createInterface('rl-b', { netns: 'ns1' });
  await wg.createInterface('rl.a+', { netns: 'ns1' });
  await wg.createInterface('rlxaa', { netns: 'ns1' }); // what "rl.a+" would match as an unescaped regex
  await wg.deleteInterface('rl-a', { netns: 'ns1' });
  await wg.deleteInterface('rl.a+', { netns: 'ns1' });
  assert.deepEqual([...os.procs.values()], ['wireguard-go rl-b', 'wireguard-go rlxaa']);
  assert.deepEqual([...os.sockets], ['/run/wireguard/rl-b.sock', '/run/wireguard/rlxaa.sock']);
  assert.equal(os.links.has('ns1/rl-a'), false);
  await wg.deleteInterface('rl-a', { netns: 'ns1' });
});

test('configuration: key via stdin, port, fwmark, peers set idempotently, removed, shown', async () => {
  const os = new FakeOS();
  const wg = createWg(os.run);
  await wg.createInterface('rl-a', { netns: 'ns1' });
  const o = { netns: 'ns1' };
  await wg.setPrivateKey('rl-a', PRIV, o);
  await wg.setListenPort('rl-a', 51820, o);
  await wg.setFwmark('rl-a', 0x1234, o);
  const peer = { publicKey: PEER, allowedIps: ['10.99.0.2/32', '10.20.1.0/24'], endpoint: '192.0.2.2:51820', keepalive: 25 };
  await wg.setPeer('rl-a', peer, o);
  await wg.setPeer('rl-a', peer, o);
  let shown = await wg.show('rl-a', o);
  assert.deepEqual(shown.interface, { publicKey: PUB, hasPrivateKey: true, listenPort: 51820, fwmark: 0x1234 });
  assert.equal(shown.peers.length, 1);
  assert.deepEqual(shown.peers[0]!.allowedIps, ['10.99.0.2/32', '10.20.1.0/24']);
  assert.equal(shown.peers[0]!.keepalive, 25);
  await wg.setFwmark('rl-a', null, o);
  await wg.removePeer('rl-a', PEER, o);
  await wg.removePeer('rl-a', PEER, o);
  shown = await wg.show('rl-a', o);
  assert.equal(shown.interface.fwmark, null);
  assert.deepEqual(shown.peers, []);
  assert.ok(os.log.some((l) => /^\[ns1\] wg set rl-a private-key \/\S+roamlink-secret-\w+\/key$/.test(l)));
  await assert.rejects(wg.setPeer('rl-a', { ...peer, publicKey: 'bogus' }, o), /public key: "bogus" is not a WireGuard key/);
  await assert.rejects(wg.setListenPort('rl-a', 70000, o), /listen_port/);
});

test('publicKeyOf computes what `wg pubkey` prints, clamped or not (vectors from wireguard-tools 2026-12)', async () => {
  const { publicKeyOf } = await import('../../shared/wg.keys.js');
  for (const [priv, pub] of [
    ['0O1RqTmGn5GZFi09TKKaLjk3bVsMJ1YXCO9JvIiTnWA=', '0ZMsuzN6dYl4r0+tD2giQ/W6NokmvRZgMea67eDEVAE='], // from wg genkey
    ['O/NX7xuLTsIyMl+7Cj5CdBiX45/rMq/50J8pkdLRyHQ=', 'TYH4xaBT9SQQRILU+hGYVGBg3QoK+CXvL1Nn3ukD3Rc='], // 32 random bytes, unclamped
  ]) {
    assert.equal(publicKeyOf(priv), pub);
    assert.equal(publicKeyOf(`${priv}\n`), pub);
  }
});

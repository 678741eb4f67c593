// The reconciler against a stateful model of WireGuard and the routing table: convergence, idempotence, revocation, failures, batches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino } from 'pino';
import type { Runner, RunOptions, RunResult } from '../../shared/exec.js';
import { createWg, isWgKey } from '../../shared/wg.js';
import { createRoutes, parseRoutes, ROUTE_PROTO, type RouteEntry } from '../../concentrator/routes.js';
import { parseCidr } from '../../concentrator/cidr.js';
import { desiredFromVehicles, type NetState } from '../../concentrator/reconcile/diff.js';
import { Reconciler, type ReconcilerOptions } from '../../concentrator/reconcile/reconciler.js';
import { createPeersBatch } from '../../concentrator/reconcile/wg.addconf.js';
import type { Vehicle } from '../../concentrator/store/vehicles/schema.js';

const K1 = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=';
const K2 = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAI=';
const STRAY = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQ=';
const IF = 'rl-hq0';
const P = String(ROUTE_PROTO);

interface AddconfFile { path: string; mode: number; dirMode: number; text: string }

/**
 * WireGuard and the routing table of one namespace, as state, behind the Runner the real drivers use. It speaks the
 * commands the drivers send (`wg show IF dump`, `wg set`, `wg addconf`, `ip -j route show`, `ip route replace|del`,
 * `ip -force -batch -`) the way the tools do, records each, and fails on any other.
 */
class FakeOS {
  peers = new Map<string, string[]>();
  routes: RouteEntry[] = [{ dst: '10.99.0.0/24', protocol: 'kernel' }];
  calls: string[] = [];
  /** A command starting with one of these fails; so does an `ip -batch` line whose `ip LINE` does (as the kernel refusing it). */
  failOn = new Set<string>();
  /** Called after each command is recorded (before it runs). */
  onCall: (call: string) => void = () => {};
  /** The files `wg addconf` was given, as they were when it read them. */
  addconfFiles: AddconfFile[] = [];

  readonly run: Runner = async (argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> => {
    assert.equal(opts.netns, undefined, 'the daemon runs inside its namespace');
    const s = argv.join(' ');
    const shown = s === 'ip -force -batch -' ? `${s} (${(opts.input ?? '').split('\n').filter(Boolean).length} lines)` : s;
    this.calls.push(shown);
    this.onCall(shown);
    const r = this.failing(s) ? { stdout: '', stderr: `injected failure: ${s}`, exitCode: 2 } : this.exec([...argv], opts.input ?? '');
    if (r.exitCode !== 0 && !opts.allowFail) throw new Error(`fake: ${s}: ${r.stderr}`);
    return r;
  };

  private failing(call: string): boolean {
    return [...this.failOn].some((f) => call.startsWith(f));
  }

  private ours(dst: string): boolean {
    return this.routes.some((r) => r.dst === dst && r.protocol === P);
  }

  private exec(a: string[], input: string): RunResult {
    const ok = (stdout = ''): RunResult => ({ stdout, stderr: '', exitCode: 0 });
    const fail = (stderr: string, exitCode = 1): RunResult => ({ stdout: '', stderr, exitCode });
    const s = a.join(' ');
    let m: RegExpExecArray | null;
    if (s === `wg show ${IF} dump`) {
      const lines = [`(none)\t(none)\t51820\toff`];
      for (const [k, ips] of this.peers) lines.push([k, '(none)', '(none)', ips.join(',') || '(none)', 0, 0, 0, 'off'].join('\t'));
      return ok(`${lines.join('\n')}\n`);
    }
    if ((m = new RegExp(`^wg set ${IF} peer (\\S+) remove$`).exec(s))) {
      this.peers.delete(m[1]!);
      return ok();
    }
    if ((m = new RegExp(`^wg set ${IF} peer (\\S+) allowed-ips (\\S*)$`).exec(s))) {
      this.setPeer(m[1]!, m[2] ? m[2].split(',') : []);
      return ok();
    }
    if ((m = new RegExp(`^wg addconf ${IF} (\\S+)$`).exec(s))) return this.addconf(m[1]!);
    if (s === `ip -j route show dev ${IF}`) return ok(`${JSON.stringify(this.routes.map((r) => ({ dst: r.dst.replace(/\/32$/, ''), ...(r.protocol ? { protocol: r.protocol } : {}), scope: 'link', flags: [] })))}\n`);
    if ((m = new RegExp(`^ip route (replace|del) (\\S+) dev ${IF} proto ${P}$`).exec(s))) {
      const [, verb, dst] = m as unknown as [string, string, string];
      if (verb === 'del' && !this.ours(dst)) return fail('RTNETLINK answers: No such process\n', 2);
      this.routes = this.routes.filter((r) => r.dst !== dst);
      if (verb === 'replace') this.routes.push({ dst, protocol: P });
      return ok();
    }
    if (s === 'ip -force -batch -') return this.ipBatch(input);
    return fail(`fake: unknown command: ${s}`, 127);
  }

  private setPeer(key: string, allowed: string[]) {
    // As WireGuard: an allowed-ip belongs to one peer; giving it to another takes it away from the first.
    for (const [k, ips] of this.peers) if (k !== key) this.peers.set(k, ips.filter((ip) => !allowed.includes(ip)));
    this.peers.set(key, [...allowed]);
  }

  /** Parses the whole file first, as wg does: one bad line and nothing is applied. */
  private addconf(path: string): RunResult {
    const st = statSync(path);
    const text = readFileSync(path, 'utf8');
    this.addconfFiles.push({ path, mode: st.mode & 0o777, dirMode: statSync(dirname(path)).mode & 0o777, text });
    const parsed: Array<{ key?: string; allowed: string[] }> = [];
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      let m: RegExpExecArray | null;
      if (line === '') continue;
      if (line === '[Peer]') parsed.push({ allowed: [] });
      else if ((m = /^PublicKey = (\S+)$/.exec(line)) && parsed.length && isWgKey(m[1]!)) parsed.at(-1)!.key = m[1]!;
      else if ((m = /^AllowedIPs = (.+)$/.exec(line)) && parsed.length && m[1]!.split(', ').every((c) => parseCidr(c))) parsed.at(-1)!.allowed.push(...m[1]!.split(', '));
      else return { stdout: '', stderr: `Line unrecognized: \`${line}'\nConfiguration parsing error\n`, exitCode: 1 };
    }
    if (parsed.some((p) => !p.key)) return { stdout: '', stderr: 'A peer is missing a public key\nConfiguration parsing error\n', exitCode: 1 };
    for (const p of parsed) this.setPeer(p.key!, p.allowed);
    return { stdout: '', stderr: '', exitCode: 0 };
  }

  /** `ip -force -batch -`: a line the kernel refuses is reported and the next ones run; a line `ip` cannot parse ends the run. */
  private ipBatch(input: string): RunResult {
    let stderr = '';
    const lines = input.split('\n');
    if (lines.at(-1) === '') lines.pop();
    for (const [i, line] of lines.entries()) {
      const m = new RegExp(`^route replace (\\S+) dev ${IF} proto ${P}$`).exec(line);
      if (!m || !parseCidr(m[1]!)) return { stdout: '', stderr: `${stderr}Error: cannot parse "${line}".\n`, exitCode: 1 };
      if (this.failing(`ip ${line}`)) stderr += `RTNETLINK answers: Invalid argument\nCommand failed -:${i + 1}\n`;
      else this.exec(['ip', ...line.split(' ')], '');
    }
    return { stdout: '', stderr, exitCode: stderr ? 1 : 0 };
  }
}

const vehicle = (name: string, key: string, addr: string, subnet: string): Vehicle => ({
  name, public_key: key, tunnel_address: addr, subnet, site: null, created_at: '2026-11-21T00:00:00.000Z', revoked_at: null,
});

/** Vehicle i of a large fleet: key i+1, 10.99.x.y, LAN 10.(20 + i/256).(i%256).0/24. */
function fleetVehicle(i: number): Vehicle {
  const key = Buffer.alloc(32);
  key.writeUInt32BE(i + 1, 0);
  const a = i + 2;
  return vehicle(`v${i}`, key.toString('base64'), `10.99.${a >> 8}.${a & 255}`, `10.${20 + (i >> 8)}.${i & 255}.0/24`);
}
const fleet = (n: number, from = 0) => Array.from({ length: n }, (_, i) => fleetVehicle(from + i));

function setup(o: Partial<ReconcilerOptions> = {}) {
  const net = new FakeOS();
  let registry: Vehicle[] = [];
  const r = new Reconciler({
    ifname: IF, wg: createWg(net.run), routes: createRoutes(net.run), peersBatch: createPeersBatch(net.run), log: pino({ level: 'silent' }),
    desired: (): NetState => desiredFromVehicles(registry), now: () => new Date('2026-11-21T12:00:00Z'), ...o,
  });
  return { net, r, set: (v: Vehicle[]) => { registry = v; } };
}

/** A reconciler whose first pass is behind it (nothing registered yet): later passes are one at a time unless large. */
async function started(o: Partial<ReconcilerOptions> = {}) {
  const s = setup(o);
  await s.r.reconcile();
  s.net.calls = [];
  return s;
}

const mutations = (calls: string[]) => calls.filter((c) => !c.startsWith('wg show') && !c.startsWith('ip -j route show'));
const ourRoutes = (net: FakeOS) => net.routes.filter((x) => x.protocol === P).map((x) => x.dst).sort();

test('parseRoutes: captured `ip -j route show dev IF` (host routes get /32)', () => {
  const captured = '[{"dst":"10.20.1.0/24","protocol":"82","scope":"link","flags":[]},{"dst":"10.20.2.5","protocol":"82","scope":"link","flags":[]},{"dst":"10.30.0.0/16","scope":"link","flags":[]},{"dst":"10.99.0.0/24","protocol":"kernel","scope":"link","prefsrc":"10.99.0.1","flags":[]}]\n';
  assert.deepEqual(parseRoutes(captured), [
    { dst: '10.20.1.0/24', protocol: '82' },
    { dst: '10.20.2.5/32', protocol: '82' },
    { dst: '10.30.0.0/16' },
    { dst: '10.99.0.0/24', protocol: 'kernel' },
  ]);
  assert.deepEqual(parseRoutes(''), []);
});

test('the first pass is batched and converges; a second pass changes nothing; routes not ours are left alone', async () => {
  const { net, r, set } = setup();
  net.routes.push({ dst: '172.16.0.0/12' }); // an operator's route on the interface
  net.peers.set(STRAY, ['10.99.0.200/32']);
  set([vehicle('a', K1, '10.99.0.2', '10.20.1.0/24'), vehicle('b', K2, '10.99.0.3', '10.20.2.0/24')]);
  const first = await r.reconcile();
  assert.equal(first.ok, true);
  // The stray peer goes by a command of its own; the rest in one addconf and one batch.
  assert.deepEqual(mutations(net.calls), [`wg set ${IF} peer ${STRAY} remove`, `wg addconf ${IF} ${net.addconfFiles[0]!.path}`, 'ip -force -batch - (2 lines)']);
  assert.deepEqual(first.changes.map((c) => [c.change.kind, c.ok, c.batched ?? false]), [
    ['peer.remove', true, false], ['peer.set', true, true], ['peer.set', true, true], ['route.replace', true, true], ['route.replace', true, true],
  ]);
  assert.deepEqual(Object.fromEntries(net.peers), { [K1]: ['10.99.0.2/32', '10.20.1.0/24'], [K2]: ['10.99.0.3/32', '10.20.2.0/24'] });
  assert.ok(net.routes.some((x) => x.dst === '172.16.0.0/12') && net.routes.some((x) => x.protocol === 'kernel'));
  net.calls = [];
  const second = await r.reconcile();
  assert.deepEqual(second.changes, []);
  assert.deepEqual(mutations(net.calls), []);
  assert.equal(r.last, second);
});

test('the addconf file: peers only, 0600 in a fresh 0700 directory, gone once wg has read it', async () => {
  const { net, r, set } = setup();
  set([vehicle('a', K1, '10.99.0.2', '10.20.1.0/24'), vehicle('b', K2, '10.99.0.3', '10.20.2.0/24')]);
  await r.reconcile();
  const [f] = net.addconfFiles;
  assert.ok(f);
  assert.deepEqual({ mode: f.mode, dirMode: f.dirMode }, { mode: 0o600, dirMode: 0o700 });
  assert.equal(f.text, `[Peer]\nPublicKey = ${K1}\nAllowedIPs = 10.99.0.2/32, 10.20.1.0/24\n\n[Peer]\nPublicKey = ${K2}\nAllowedIPs = 10.99.0.3/32, 10.20.2.0/24\n`);
  assert.match(f.path, /roamlink-secret-\w+\/key$/);
  assert.equal(existsSync(dirname(f.path)), false);
});

test('a cold start of 2,500 vehicles: one addconf and one `ip -batch` per 2,000 routes, every change reported', async () => {
  const { net, r, set } = setup();
  set(fleet(2500));
  const res = await r.reconcile();
  assert.equal(res.ok, true);
  assert.deepEqual(mutations(net.calls).map((c) => c.replace(/\/\S+$/, '/…')), [`wg addconf ${IF} /…`, 'ip -force -batch - (2000 lines)', 'ip -force -batch - (500 lines)']);
  assert.equal(res.changes.length, 5000);
  assert.ok(res.changes.every((c) => c.ok && c.batched));
  assert.equal(net.peers.size, 2500);
  assert.deepEqual(net.peers.get(fleetVehicle(2499).public_key), ['10.99.9.197/32', '10.29.195.0/24']);
  assert.equal(ourRoutes(net).length, 2500);
  net.calls = [];
  assert.deepEqual((await r.reconcile()).changes, []);
});

test('a route the kernel refuses in the batch: the other lines still apply, it is retried alone and reported alone', async () => {
  const { net, r, set } = setup();
  set(fleet(100));
  const bad = fleetVehicle(42).subnet;
  net.failOn.add(`ip route replace ${bad} `);
  const res = await r.reconcile();
  assert.equal(res.ok, false);
  assert.deepEqual(mutations(net.calls).slice(1), ['ip -force -batch - (100 lines)', `ip route replace ${bad} dev ${IF} proto ${P}`]);
  const failed = res.changes.filter((c) => !c.ok);
  assert.deepEqual(failed.map((c) => c.change), [{ kind: 'route.replace', dst: bad }]);
  assert.match(failed[0]!.error!, /injected failure/);
  assert.equal(failed[0]!.batched, undefined);
  assert.equal(res.changes.length, 200);
  assert.equal(ourRoutes(net).length, 99);
  assert.equal(net.peers.size, 100);
  net.failOn.clear();
  net.calls = [];
  const again = await r.reconcile();
  assert.deepEqual(again.changes.map((c) => c.change), [{ kind: 'route.replace', dst: bad }]);
  assert.deepEqual(mutations(net.calls), [`ip route replace ${bad} dev ${IF} proto ${P}`]);
});

test('wg refuses the whole addconf: every peer is set one at a time, and only a peer that fails alone is reported', async () => {
  const { net, r, set } = setup();
  set(fleet(60));
  const bad = fleetVehicle(7).public_key;
  net.failOn.add(`wg addconf`);
  net.failOn.add(`wg set ${IF} peer ${bad} `);
  const res = await r.reconcile();
  assert.equal(res.ok, false);
  assert.equal(mutations(net.calls).filter((c) => c.startsWith('wg set')).length, 60);
  assert.deepEqual(res.changes.filter((c) => !c.ok).map((c) => c.change.kind === 'peer.set' && c.change.publicKey), [bad]);
  assert.equal(res.changes.filter((c) => c.batched).length, 60, 'the routes landed in their batch');
  assert.equal(net.peers.size, 59);
});

test('an entry that would not parse stays out of the batch text and fails alone', async () => {
  const injected = `${K2}\n[Interface]\nPrivateKey = ${K1}`;
  const desired: NetState = {
    peers: [{ publicKey: K1, allowedIps: ['10.99.0.2/32', '10.20.1.0/24'] }, { publicKey: injected, allowedIps: ['10.99.0.3/32'] }],
    routes: ['10.20.1.0/24', '10.20.2.0/24\nlink del rl-hq0'],
  };
  const { net, r } = setup({ desired: () => desired });
  const res = await r.reconcile();
  assert.equal(res.ok, false);
  assert.doesNotMatch(net.addconfFiles[0]!.text, /Interface|PrivateKey/);
  assert.deepEqual(mutations(net.calls).slice(1), ['ip -force -batch - (1 lines)', `ip route replace 10.20.2.0/24\nlink del rl-hq0 dev ${IF} proto ${P}`]);
  assert.deepEqual(res.changes.filter((c) => !c.ok).map((c) => c.change.kind), ['peer.set', 'route.replace']);
  assert.match(res.changes.find((c) => c.change.kind === 'peer.set' && !c.ok)!.error!, /is not a WireGuard key/);
});

test('later passes: one at a time up to the threshold, batched above it; removals always one at a time, exact', async () => {
  const { net, r, set } = await started({ batchThreshold: 10 });
  set(fleet(5));
  await r.reconcile();
  assert.deepEqual(mutations(net.calls).map((c) => c.split(' ').slice(0, 3).join(' ')), [...Array(5).fill(`wg set ${IF}`), ...Array(5).fill('ip route replace')]);
  net.calls = [];
  // Vehicle 0 revoked, 20 new ones: the revocation by its own commands first, then the batch.
  set([...fleet(4, 1), ...fleet(20, 5)]);
  const res = await r.reconcile();
  assert.equal(res.ok, true);
  const v0 = fleetVehicle(0);
  assert.deepEqual(mutations(net.calls).map((c) => c.replace(/ \/\S+$/, ' …')), [
    `wg set ${IF} peer ${v0.public_key} remove`, `ip route del ${v0.subnet} dev ${IF} proto ${P}`, `wg addconf ${IF} …`, 'ip -force -batch - (20 lines)',
  ]);
  assert.equal(net.peers.size, 24);
  assert.equal(net.peers.has(v0.public_key), false);
  assert.equal(ourRoutes(net).includes(v0.subnet), false);
});

test('a removal that fails in a batched pass is reported once, not retried after the batch', async () => {
  const { net, r, set } = setup();
  net.peers.set(STRAY, ['10.99.0.200/32']);
  net.failOn.add(`wg set ${IF} peer ${STRAY} remove`);
  set(fleet(3));
  const res = await r.reconcile();
  assert.deepEqual(res.changes.filter((c) => !c.ok).map((c) => c.change), [{ kind: 'peer.remove', publicKey: STRAY }]);
  assert.equal(net.calls.filter((c) => c.includes(STRAY)).length, 1);
});

test('the state cannot be read after the batch: the batched changes are reported unverified, the next pass reads again', async () => {
  const { net, r, set } = setup();
  set(fleet(3));
  net.onCall = (c) => { if (c.startsWith('ip -force -batch')) net.failOn.add('wg show'); };
  const res = await r.reconcile();
  assert.equal(res.ok, false);
  assert.match(res.error!, /^cannot read the state after the batch: .*injected failure/);
  assert.equal(res.changes.length, 6);
  assert.ok(res.changes.every((c) => !c.ok && c.error === res.error));
  net.onCall = () => {};
  net.failOn.clear();
  assert.deepEqual((await r.reconcile()).changes, []);
});

test('revocation removes peer and route in the same pass', async () => {
  const { net, r, set } = setup();
  set([vehicle('a', K1, '10.99.0.2', '10.20.1.0/24'), vehicle('b', K2, '10.99.0.3', '10.20.2.0/24')]);
  await r.reconcile();
  net.calls = [];
  set([vehicle('a', K1, '10.99.0.2', '10.20.1.0/24')]);
  const res = await r.reconcile();
  assert.deepEqual(res.changes.map((c) => c.change), [{ kind: 'peer.remove', publicKey: K2 }, { kind: 'route.remove', dst: '10.20.2.0/24' }]);
  assert.deepEqual(mutations(net.calls), [`wg set ${IF} peer ${K2} remove`, `ip route del 10.20.2.0/24 dev ${IF} proto ${P}`]);
  assert.deepEqual([...net.peers.keys()], [K1]);
  assert.deepEqual(ourRoutes(net), ['10.20.1.0/24']);
});

test('a failing change is reported, the others still applied; the next pass finishes the job', async () => {
  const { net, r, set } = await started();
  set([vehicle('a', K1, '10.99.0.2', '10.20.1.0/24'), vehicle('b', K2, '10.99.0.3', '10.20.2.0/24')]);
  net.failOn.add(`wg set ${IF} peer ${K1} `);
  const res = await r.reconcile();
  assert.equal(res.ok, false);
  assert.deepEqual(res.changes.map((c) => [c.change.kind, c.ok]), [['peer.set', false], ['peer.set', true], ['route.replace', true], ['route.replace', true]]);
  assert.match(res.changes[0]!.error!, /injected failure/);
  net.failOn.clear();
  const again = await r.reconcile();
  assert.equal(again.ok, true);
  assert.deepEqual(again.changes.map((c) => c.change), [{ kind: 'peer.set', publicKey: K1, allowedIps: ['10.99.0.2/32', '10.20.1.0/24'] }]);
});

test('cannot read the current state: nothing attempted, error reported; the pass after is still the batched start', async () => {
  const { net, r, set } = setup();
  set([vehicle('a', K1, '10.99.0.2', '10.20.1.0/24')]);
  net.failOn.add('wg show');
  const res = await r.reconcile();
  assert.equal(res.ok, false);
  assert.match(res.error!, /injected failure: wg show rl-hq0 dump/);
  assert.deepEqual(res.changes, []);
  assert.deepEqual(mutations(net.calls), []);
  net.failOn.clear();
  const next = await r.reconcile();
  assert.deepEqual(next.changes.map((c) => c.batched), [true, true]);
});

test('calls during a pass share one following pass; passes never overlap', async () => {
  const { net, r, set } = setup();
  set([vehicle('a', K1, '10.99.0.2', '10.20.1.0/24')]);
  const p1 = r.reconcile();
  const p2 = r.reconcile();
  const p3 = r.reconcile();
  assert.equal(p2, p3);
  const [a, b] = await Promise.all([p1, p2]);
  assert.equal(a.changes.length, 2);
  assert.equal(b.changes.length, 0);
  // The first pass reads, batches and reads again; only then does the second pass read.
  assert.deepEqual(net.calls.map((c) => c.replace(/ \/\S+$/, ' …')), [
    `wg show ${IF} dump`, `ip -j route show dev ${IF}`, `wg addconf ${IF} …`, 'ip -force -batch - (1 lines)',
    `wg show ${IF} dump`, `ip -j route show dev ${IF}`,
    `wg show ${IF} dump`, `ip -j route show dev ${IF}`,
  ]);
});

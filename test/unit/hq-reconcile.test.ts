// The reconciler against stateful models of WireGuard and the routing table: convergence, idempotence, revocation, failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { WgDriver, WgPeerSpec, WgShow } from '../../shared/wg.js';
import { parseRoutes, ROUTE_PROTO, type RouteEntry, type RoutesDriver } from '../../concentrator/routes.js';
import { desiredFromVehicles, type NetState } from '../../concentrator/reconcile/diff.js';
import { Reconciler } from '../../concentrator/reconcile/reconciler.js';
import type { Vehicle } from '../../concentrator/store/vehicles/schema.js';

const K1 = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=';
const K2 = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAI=';
const STRAY = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQ=';
const IF = 'rl-hq0';

/** WireGuard and the routing table of one namespace, as state; every call is recorded. */
class FakeNet {
  peers = new Map<string, string[]>();
  routes: RouteEntry[] = [{ dst: '10.99.0.0/24', protocol: 'kernel' }];
  calls: string[] = [];
  failOn = new Set<string>();

  private record(call: string) {
    this.calls.push(call);
    if ([...this.failOn].some((f) => call.startsWith(f))) throw new Error(`injected failure: ${call}`);
  }

  readonly wg: WgDriver = {
    genKey: async () => { throw new Error('unused'); },
    pubKey: async () => { throw new Error('unused'); },
    createInterface: async () => { throw new Error('unused'); },
    deleteInterface: async () => { throw new Error('unused'); },
    setPrivateKey: async () => { throw new Error('unused'); },
    setListenPort: async () => { throw new Error('unused'); },
    setFwmark: async () => { throw new Error('unused'); },
    setPeer: async (ifname: string, p: WgPeerSpec) => {
      assert.equal(ifname, IF);
      this.record(`setPeer ${p.publicKey}`);
      this.peers.set(p.publicKey, [...p.allowedIps]);
    },
    removePeer: async (ifname: string, k: string) => {
      assert.equal(ifname, IF);
      this.record(`removePeer ${k}`);
      this.peers.delete(k);
    },
    show: async (ifname: string): Promise<WgShow> => {
      this.record(`show ${ifname}`);
      return {
        interface: { publicKey: null, hasPrivateKey: true, listenPort: 51820, fwmark: null },
        peers: [...this.peers].map(([publicKey, allowedIps]) => ({
          publicKey, allowedIps, hasPresharedKey: false, endpoint: null, latestHandshake: null, rxBytes: 0, txBytes: 0, keepalive: null,
        })),
      };
    },
  };

  readonly rt: RoutesDriver = {
    list: async (dev) => {
      this.record(`routes ${dev}`);
      return this.routes.map((r) => ({ ...r }));
    },
    replace: async (dst, dev) => {
      this.record(`replace ${dst} ${dev}`);
      this.routes = [...this.routes.filter((r) => r.dst !== dst), { dst, protocol: String(ROUTE_PROTO) }];
    },
    remove: async (dst, dev) => {
      this.record(`remove ${dst} ${dev}`);
      this.routes = this.routes.filter((r) => !(r.dst === dst && r.protocol === String(ROUTE_PROTO)));
    },
    addressUp: async () => { throw new Error('unused'); },
  };
}

const vehicle = (name: string, key: string, addr: string, subnet: string): Vehicle => ({
  name, public_key: key, tunnel_address: addr, subnet, site: null, created_at: '2026-11-21T00:00:00.000Z', revoked_at: null,
});

function setup() {
  const net = new FakeNet();
  let registry: Vehicle[] = [];
  const r = new Reconciler({
    ifname: IF, wg: net.wg, routes: net.rt, log: pino({ level: 'silent' }), desired: (): NetState => desiredFromVehicles(registry),
    now: () => new Date('2026-11-21T12:00:00Z'),
  });
  return { net, r, set: (v: Vehicle[]) => { registry = v; } };
}

const mutations = (calls: string[]) => calls.filter((c) => !c.startsWith('show') && !c.startsWith('routes'));

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

test('converges, then a second pass changes nothing; routes not ours are left alone', async () => {
  const { net, r, set } = setup();
  net.routes.push({ dst: '172.16.0.0/12' }); // an operator's route on the interface
  net.peers.set(STRAY, ['10.99.0.200/32']);
  set([vehicle('a', K1, '10.99.0.2', '10.20.1.0/24'), vehicle('b', K2, '10.99.0.3', '10.20.2.0/24')]);
  const first = await r.reconcile();
  assert.equal(first.ok, true);
  assert.deepEqual(mutations(net.calls), [
    `removePeer ${STRAY}`, `setPeer ${K1}`, `setPeer ${K2}`, `replace 10.20.1.0/24 ${IF}`, `replace 10.20.2.0/24 ${IF}`,
  ]);
  assert.deepEqual(Object.fromEntries(net.peers), { [K1]: ['10.99.0.2/32', '10.20.1.0/24'], [K2]: ['10.99.0.3/32', '10.20.2.0/24'] });
  assert.ok(net.routes.some((x) => x.dst === '172.16.0.0/12') && net.routes.some((x) => x.protocol === 'kernel'));
  net.calls = [];
  const second = await r.reconcile();
  assert.deepEqual(second.changes, []);
  assert.deepEqual(mutations(net.calls), []);
  assert.equal(r.last, second);
});

test('revocation removes peer and route in the same pass', async () => {
  const { net, r, set } = setup();
  set([vehicle('a', K1, '10.99.0.2', '10.20.1.0/24'), vehicle('b', K2, '10.99.0.3', '10.20.2.0/24')]);
  await r.reconcile();
  net.calls = [];
  set([vehicle('a', K1, '10.99.0.2', '10.20.1.0/24')]);
  const res = await r.reconcile();
  assert.deepEqual(res.changes.map((c) => c.change), [{ kind: 'peer.remove', publicKey: K2 }, { kind: 'route.remove', dst: '10.20.2.0/24' }]);
  assert.deepEqual([...net.peers.keys()], [K1]);
  assert.deepEqual(net.routes.filter((x) => x.protocol === '82').map((x) => x.dst), ['10.20.1.0/24']);
});

test('a failing change is reported, the others still applied; the next pass finishes the job', async () => {
  const { net, r, set } = setup();
  set([vehicle('a', K1, '10.99.0.2', '10.20.1.0/24'), vehicle('b', K2, '10.99.0.3', '10.20.2.0/24')]);
  net.failOn.add(`setPeer ${K1}`);
  const res = await r.reconcile();
  assert.equal(res.ok, false);
  assert.deepEqual(res.changes.map((c) => [c.change.kind, c.ok]), [['peer.set', false], ['peer.set', true], ['route.replace', true], ['route.replace', true]]);
  assert.match(res.changes[0]!.error!, /injected failure/);
  net.failOn.clear();
  const again = await r.reconcile();
  assert.equal(again.ok, true);
  assert.deepEqual(again.changes.map((c) => c.change), [{ kind: 'peer.set', publicKey: K1, allowedIps: ['10.99.0.2/32', '10.20.1.0/24'] }]);
});

test('cannot read the current state: nothing attempted, error reported', async () => {
  const { net, r, set } = setup();
  set([vehicle('a', K1, '10.99.0.2', '10.20.1.0/24')]);
  net.failOn.add('show');
  const res = await r.reconcile();
  assert.deepEqual({ ok: res.ok, changes: res.changes, error: res.error }, { ok: false, changes: [], error: `injected failure: show ${IF}` });
  assert.deepEqual(mutations(net.calls), []);
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
  assert.equal(net.calls.filter((c) => c.startsWith('show')).length, 2);
});

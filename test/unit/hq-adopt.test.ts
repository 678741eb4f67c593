// What a concentrator restart changes on the interface it finds, as tables: the interface's key and port, peers with
// stored endpoints, the endpoint store's merge and file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { desiredFromVehicles, diffPeers, isEndpoint, plan, planInterface, renderBatch, type Change, type InterfaceChange, type PeerState } from '../../concentrator/reconcile/diff.js';
import { EndpointStore, mergeEndpoints } from '../../concentrator/store/endpoints/service.js';
import type { Vehicle } from '../../concentrator/store/vehicles/schema.js';

const K1 = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=';
const K2 = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAI=';
const K3 = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAM=';
const HQ = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQ=';

test('planInterface: an adopted interface that is right gets nothing (a listen-port set rebinds the socket)', () => {
  const want = { publicKey: HQ, listenPort: 51820 };
  const table: Array<{ name: string; given: { publicKey: string | null; listenPort: number } | null; want: InterfaceChange[] }> = [
    { name: 'just created: key and port', given: null, want: [{ kind: 'key.set' }, { kind: 'port.set', port: 51820 }] },
    { name: 'adopted, right', given: { publicKey: HQ, listenPort: 51820 }, want: [] },
    { name: 'adopted, no key yet (a start that died half way)', given: { publicKey: null, listenPort: 0 }, want: [{ kind: 'key.set' }, { kind: 'port.set', port: 51820 }] },
    { name: 'adopted, another key (the key file was replaced)', given: { publicKey: K1, listenPort: 51820 }, want: [{ kind: 'key.set' }] },
    { name: 'adopted, another port (config changed)', given: { publicKey: HQ, listenPort: 51999 }, want: [{ kind: 'port.set', port: 51820 }] },
  ];
  for (const t of table) assert.deepEqual(planInterface(t.given, want), t.want, t.name);
});

test('diffPeers on adoption: peers that are right stay untouched; only an added peer takes its stored endpoint', () => {
  const p = (publicKey: string, allowedIps: string[], endpoint?: string): PeerState => ({ publicKey, allowedIps, ...(endpoint ? { endpoint } : {}) });
  const table: Array<{ name: string; current: PeerState[]; desired: PeerState[]; want: Change[] }> = [
    { name: 'restart, interface kept: nothing (no remove and re-add: sessions and endpoints stay)', current: [p(K1, ['a/32']), p(K2, ['b/32'])], desired: [p(K1, ['a/32'], '198.51.100.7:4500'), p(K2, ['b/32'])], want: [] },
    {
      name: 'reboot, interface new: every peer added, with the endpoint it last had when there is one',
      current: [],
      desired: [p(K1, ['a/32'], '198.51.100.7:4500'), p(K2, ['b/32'])],
      want: [{ kind: 'peer.set', publicKey: K1, allowedIps: ['a/32'], endpoint: '198.51.100.7:4500' }, { kind: 'peer.set', publicKey: K2, allowedIps: ['b/32'] }],
    },
    {
      name: 'allowed-ips changed on a live peer: set without an endpoint (WireGuard\'s own is newer than the stored one)',
      current: [p(K1, ['a/32'])],
      desired: [p(K1, ['a/32', 'c/24'], '198.51.100.7:4500')],
      want: [{ kind: 'peer.set', publicKey: K1, allowedIps: ['a/32', 'c/24'] }],
    },
    { name: 'a revoked vehicle left on the interface goes', current: [p(K1, ['a/32']), p(K3, ['c/32'])], desired: [p(K1, ['a/32'])], want: [{ kind: 'peer.remove', publicKey: K3 }] },
  ];
  for (const t of table) assert.deepEqual(diffPeers(t.current, t.desired), t.want, t.name);
});

test('plan on adoption: the routes a previous run programmed stay; a missing one is added', () => {
  const v = (name: string, key: string, addr: string, subnet: string): Vehicle => ({ name, public_key: key, tunnel_address: addr, subnet, site: null, created_at: '2026-12-01T00:00:00.000Z', revoked_at: null });
  const desired = desiredFromVehicles([v('bus-1', K1, '10.99.0.2', '10.20.1.0/24'), v('bus-2', K2, '10.99.0.3', '10.20.2.0/24')], new Map([[K2, '203.0.113.4:51820']]));
  assert.deepEqual(desired.peers.map((x) => x.endpoint), [undefined, '203.0.113.4:51820']);
  const current = { peers: desired.peers.map(({ publicKey, allowedIps }) => ({ publicKey, allowedIps })), routes: ['10.20.1.0/24'] };
  assert.deepEqual(plan(current, desired), [{ kind: 'route.replace', dst: '10.20.2.0/24' }]);
});

test('renderBatch: an added peer\'s endpoint is a line of its section; an endpoint that is not one is left for one at a time', () => {
  const b = renderBatch([{ kind: 'peer.set', publicKey: K1, allowedIps: ['10.99.0.2/32'], endpoint: '198.51.100.7:4500' }], 'wg0');
  assert.equal(b.peersConf, `[Peer]\nPublicKey = ${K1}\nAllowedIPs = 10.99.0.2/32\nEndpoint = 198.51.100.7:4500\n`);
  const bad: Change = { kind: 'peer.set', publicKey: K2, allowedIps: ['10.99.0.3/32'], endpoint: '198.51.100.7:1\nPrivateKey = x' };
  assert.deepEqual(renderBatch([bad], 'wg0').unbatchable, [bad]);
});

test('isEndpoint', () => {
  const table: Array<[string, boolean]> = [
    ['198.51.100.7:4500', true], ['[2001:db8::1]:51820', true], ['198.51.100.7', false], ['198.51.100.7:0', false], ['198.51.100.7:65536', false],
    ['300.1.1.1:5', false], ['host.example:51820', false], ['198.51.100.7:4500\n', false], ['(none)', false],
  ];
  for (const [given, want] of table) assert.equal(isEndpoint(given), want, JSON.stringify(given));
});

test('mergeEndpoints: live endpoints win, a peer not heard keeps its stored one, a peer gone is forgotten', () => {
  const stored = new Map([[K1, '198.51.100.7:4500'], [K2, '203.0.113.4:51820'], [K3, '192.0.2.9:1']]);
  const table: Array<{ name: string; live: Array<{ publicKey: string; endpoint: string | null }>; want: Array<[string, string]>; changed: boolean }> = [
    { name: 'nothing new', live: [{ publicKey: K1, endpoint: '198.51.100.7:4500' }, { publicKey: K2, endpoint: null }, { publicKey: K3, endpoint: '192.0.2.9:1' }], want: [[K1, '198.51.100.7:4500'], [K2, '203.0.113.4:51820'], [K3, '192.0.2.9:1']], changed: false },
    { name: 'a vehicle roamed (new NAT address)', live: [{ publicKey: K1, endpoint: '198.51.100.8:61000' }, { publicKey: K2, endpoint: null }, { publicKey: K3, endpoint: '192.0.2.9:1' }], want: [[K1, '198.51.100.8:61000'], [K2, '203.0.113.4:51820'], [K3, '192.0.2.9:1']], changed: true },
    { name: 'a vehicle revoked (peer gone)', live: [{ publicKey: K1, endpoint: '198.51.100.7:4500' }, { publicKey: K2, endpoint: null }], want: [[K1, '198.51.100.7:4500'], [K2, '203.0.113.4:51820']], changed: true },
  ];
  for (const t of table) {
    const m = mergeEndpoints(stored, t.live);
    assert.deepEqual([...m.next], t.want, t.name);
    assert.equal(m.changed, t.changed, t.name);
  }
});

test('EndpointStore: saved and loaded whole; an absent file is none; a bad one is none with a warning naming it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-endpoints-'));
  try {
    const path = join(dir, 'endpoints.json');
    const warnings: string[] = [];
    const store = new EndpointStore(path, (m) => warnings.push(m));
    assert.deepEqual([...store.load()], []);
    store.save(new Map([[K2, '203.0.113.4:51820'], [K1, '198.51.100.7:4500']]));
    assert.deepEqual([...store.load()], [[K1, '198.51.100.7:4500'], [K2, '203.0.113.4:51820']]);
    assert.deepEqual(warnings, []);
    writeFileSync(path, '{"half": ');
    assert.deepEqual([...store.load()], []);
    assert.match(warnings[0]!, new RegExp(`${path} is not valid`));
    writeFileSync(path, JSON.stringify({ [K1]: '198.51.100.7:4500', [K2]: 'not an endpoint' }));
    assert.deepEqual([...store.load()], [[K1, '198.51.100.7:4500']], 'entries that are not endpoints are dropped');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

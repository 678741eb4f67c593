// The pure core of HQ programming: desired state from the registry, diffPeers / diffRoutes / plan as tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredFromVehicles, diffPeers, diffRoutes, plan, type Change, type NetState, type PeerState } from '../../concentrator/reconcile/diff.js';
import type { Vehicle } from '../../concentrator/store/vehicles/schema.js';

const K1 = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=';
const K2 = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAI=';
const K3 = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAM=';

const vehicle = (name: string, key: string, addr: string, subnet: string, revoked = false): Vehicle => ({
  name, public_key: key, tunnel_address: addr, subnet, site: null, created_at: '2026-11-21T00:00:00.000Z', revoked_at: revoked ? '2026-11-21T01:00:00.000Z' : null,
});

test('desiredFromVehicles: active vehicles become peers (address/32 + LAN) and routes; revoked ones do not', () => {
  const got = desiredFromVehicles([
    vehicle('bus-7', K1, '10.99.0.2', '10.20.7.0/24'),
    vehicle('old', K2, '10.99.0.3', '10.20.8.0/24', true),
    vehicle('car', K3, '10.99.0.3', '10.20.9.0/24'),
  ]);
  assert.deepEqual(got, {
    peers: [
      { publicKey: K1, allowedIps: ['10.99.0.2/32', '10.20.7.0/24'] },
      { publicKey: K3, allowedIps: ['10.99.0.3/32', '10.20.9.0/24'] },
    ],
    routes: ['10.20.7.0/24', '10.20.9.0/24'],
  });
});

test('diffPeers', () => {
  const p = (publicKey: string, ...allowedIps: string[]): PeerState => ({ publicKey, allowedIps });
  const table: Array<{ name: string; current: PeerState[]; desired: PeerState[]; want: Change[] }> = [
    { name: 'nothing to do', current: [], desired: [], want: [] },
    { name: 'in sync', current: [p(K1, 'a/32', 'b/24')], desired: [p(K1, 'a/32', 'b/24')], want: [] },
    { name: 'allowed-ips order does not matter', current: [p(K1, 'b/24', 'a/32')], desired: [p(K1, 'a/32', 'b/24')], want: [] },
    { name: 'new peer', current: [], desired: [p(K1, 'a/32')], want: [{ kind: 'peer.set', publicKey: K1, allowedIps: ['a/32'] }] },
    { name: 'stray peer removed', current: [p(K2, 'x/32')], desired: [], want: [{ kind: 'peer.remove', publicKey: K2 }] },
    { name: 'allowed-ips changed', current: [p(K1, 'a/32')], desired: [p(K1, 'a/32', 'b/24')], want: [{ kind: 'peer.set', publicKey: K1, allowedIps: ['a/32', 'b/24'] }] },
    { name: 'allowed-ips emptied by hand', current: [p(K1)], desired: [p(K1, 'a/32')], want: [{ kind: 'peer.set', publicKey: K1, allowedIps: ['a/32'] }] },
    {
      name: 'removes come first, each list sorted by key',
      current: [p(K3, 'c/32'), p(K2, 'x/32')],
      desired: [p(K3, 'c/32', 'd/24'), p(K1, 'a/32')],
      want: [
        { kind: 'peer.remove', publicKey: K2 },
        { kind: 'peer.set', publicKey: K1, allowedIps: ['a/32'] },
        { kind: 'peer.set', publicKey: K3, allowedIps: ['c/32', 'd/24'] },
      ],
    },
  ];
  for (const { name, current, desired, want } of table) assert.deepEqual(diffPeers(current, desired), want, name);
});

test('diffRoutes', () => {
  const table: Array<{ name: string; current: string[]; desired: string[]; want: Change[] }> = [
    { name: 'in sync', current: ['10.20.1.0/24'], desired: ['10.20.1.0/24'], want: [] },
    { name: 'add', current: [], desired: ['10.20.2.0/24', '10.20.1.0/24'], want: [{ kind: 'route.replace', dst: '10.20.1.0/24' }, { kind: 'route.replace', dst: '10.20.2.0/24' }] },
    { name: 'remove', current: ['10.20.1.0/24'], desired: [], want: [{ kind: 'route.remove', dst: '10.20.1.0/24' }] },
    { name: 'both', current: ['10.20.1.0/24'], desired: ['10.20.2.0/24'], want: [{ kind: 'route.remove', dst: '10.20.1.0/24' }, { kind: 'route.replace', dst: '10.20.2.0/24' }] },
  ];
  for (const { name, current, desired, want } of table) assert.deepEqual(diffRoutes(current, desired), want, name);
});

test('plan: a revoked vehicle loses peer and route in one pass, before anything is added', () => {
  const before: NetState = desiredFromVehicles([vehicle('a', K1, '10.99.0.2', '10.20.1.0/24'), vehicle('b', K2, '10.99.0.3', '10.20.2.0/24')]);
  const after: NetState = desiredFromVehicles([vehicle('a', K1, '10.99.0.2', '10.20.1.0/24'), vehicle('c', K3, '10.99.0.3', '10.20.3.0/24')]);
  assert.deepEqual(plan(before, after), [
    { kind: 'peer.remove', publicKey: K2 },
    { kind: 'route.remove', dst: '10.20.2.0/24' },
    { kind: 'peer.set', publicKey: K3, allowedIps: ['10.99.0.3/32', '10.20.3.0/24'] },
    { kind: 'route.replace', dst: '10.20.3.0/24' },
  ]);
  assert.deepEqual(plan(after, after), []);
});

// Adoption as a table: given the data plane a new agent process finds, want what it keeps and the actions it takes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foundLease, planAdoption, type DesiredDataPlane, type FoundDataPlane, type FoundUplink } from '../../agent/adopt/adopt.plan.js';
import { parseSteerTable } from '../../agent/drivers/nft/steer.js';

const HQ = 'HQpubKEY0000000000000000000000000000000000=';
const OLD = 'OLDpubKEY000000000000000000000000000000000=';
const want: DesiredDataPlane = {
  wgMark: 0xca6c,
  endpoint: { address: '10.99.0.1', port: 51820 },
  peer: { publicKey: HQ, allowedIps: ['10.77.0.1/32', '10.10.0.0/24'], endpoint: '10.99.0.1:51820' },
  uplinks: [{ name: 'wlan0', slot: 1, kind: 'wifi' }, { name: 'wlan1', slot: 2, kind: 'wifi' }, { name: 'wwan0', slot: 3, kind: 'lte' }],
};
const up = (addr: string, gw: string, name: string, radio: FoundUplink['radio'] = null): FoundUplink => ({
  addrs: [{ local: addr, prefixlen: 24 }], tableDefault: { gateway: gw, dev: name, prefsrc: addr }, radio,
});
const assoc = (ssid: string, bssid: string) => ({ state: 'COMPLETED', ssid, bssid });
const peer = { publicKey: HQ, endpoint: '10.99.0.1:51820', allowedIps: ['10.10.0.0/24', '10.77.0.1/32'] };
const steerTo = (mark: number, address: string, endpoint = want.endpoint) => ({ hooked: true, rule: { wgMark: want.wgMark, endpoint, target: { mark, address } } });
/** A vehicle running on wlan0 with wlan1 and wwan0 on standby, as the old process left it. */
const running: FoundDataPlane = {
  wg: { fwmark: 0xca6c, peers: [peer] },
  steer: steerTo(0xca6d, '192.168.10.5'),
  uplinks: {
    wlan0: up('192.168.10.5', '192.168.10.1', 'wlan0', assoc('depot', '02:00:00:00:00:01')),
    wlan1: up('192.168.11.7', '192.168.11.1', 'wlan1', assoc('street-7', '02:00:00:00:00:02')),
    wwan0: up('100.64.0.9', '100.64.0.1', 'wwan0'),
  },
};

test('planAdoption: what a new process keeps and does, given what it finds', () => {
  const table: Array<{ name: string; given: FoundDataPlane; want: { active: string | null; steered?: string | null; peerConfigured: boolean; actions: unknown[]; leases?: Record<string, string | null> } }> = [
    {
      name: 'a running vehicle (restart, crash, upgrade): everything adopted, nothing to do',
      given: running,
      want: { active: 'wlan0', peerConfigured: true, actions: [], leases: { wlan0: '192.168.10.5', wlan1: '192.168.11.7', wwan0: '100.64.0.9' } },
    },
    {
      name: 'a first start (nothing there): the table is written with no target, the peer waits for the first steering',
      given: { wg: null, steer: null, uplinks: {} },
      want: { active: null, steered: null, peerConfigured: false, actions: [{ do: 'steer.init', target: null }], leases: { wlan0: null, wlan1: null, wwan0: null } },
    },
    {
      name: 'a switch left half done (steered to wlan1, not confirmed): the steering target is the active one',
      given: { ...running, steer: steerTo(0xca6e, '192.168.11.7') },
      want: { active: 'wlan1', steered: 'wlan1', peerConfigured: true, actions: [] },
    },
    {
      name: 'steered to an uplink that lost that address meanwhile: no active, the table left until the arbiter steers',
      given: { ...running, steer: steerTo(0xca6e, '192.168.11.99') },
      want: { active: null, steered: 'wlan1', peerConfigured: true, actions: [] },
    },
    {
      name: 'a steering mark of no configured uplink (the config lost an uplink): not adopted',
      given: { ...running, steer: steerTo(0xca70, '10.0.0.1') },
      want: { active: null, steered: null, peerConfigured: true, actions: [] },
    },
    {
      name: 'the table exists but its chain is not ours as written: rewritten whole, keeping no stale target',
      given: { ...running, steer: { hooked: false, rule: null } },
      want: { active: null, peerConfigured: true, actions: [{ do: 'steer.init', target: null }] },
    },
    {
      name: 'the tunnel interface gone (its wireguard-go died): steering not adopted, the peer set at the first steering',
      given: { ...running, wg: null },
      want: { active: null, peerConfigured: false, actions: [] },
    },
    {
      name: 'an upgrade whose config moved the concentrator\'s port: the same uplink, the rule rewritten',
      given: { ...running, steer: steerTo(0xca6d, '192.168.10.5', { address: '10.99.0.1', port: 51000 }) },
      want: { active: 'wlan0', peerConfigured: true, actions: [{ do: 'steer.set', target: { mark: 0xca6d, address: '192.168.10.5' } }] },
    },
    {
      name: 'the peer with other allowed IPs (a route added to the config): set in place, still adopted',
      given: { ...running, wg: { fwmark: 0xca6c, peers: [{ ...peer, allowedIps: ['10.77.0.1/32'] }] } },
      want: { active: 'wlan0', peerConfigured: true, actions: [{ do: 'peer.set' }] },
    },
    {
      name: 'another concentrator key beside ours: removed',
      given: { ...running, wg: { fwmark: 0xca6c, peers: [peer, { publicKey: OLD, endpoint: null, allowedIps: [] }] } },
      want: { active: 'wlan0', peerConfigured: true, actions: [{ do: 'peer.remove', publicKey: OLD }] },
    },
    {
      name: 'only a stale peer (the concentrator was re-keyed): removed, nothing adopted',
      given: { ...running, wg: { fwmark: 0xca6c, peers: [{ ...peer, publicKey: OLD }] } },
      want: { active: null, peerConfigured: false, actions: [{ do: 'peer.remove', publicKey: OLD }] },
    },
  ];
  for (const { name, given, want: w } of table) {
    const got = planAdoption(given, want);
    assert.deepEqual({ active: got.active, peerConfigured: got.peerConfigured, actions: got.actions }, { active: w.active, peerConfigured: w.peerConfigured, actions: w.actions }, `${name}\n${got.notes.join('\n')}`);
    // Where the found steering points, adopted or not (a switch's open intent is settled by it).
    if (w.steered !== undefined) assert.equal(got.steered, w.steered, name);
    if (w.leases) assert.deepEqual(Object.fromEntries(Object.entries(got.uplinks).map(([k, v]) => [k, v.lease?.address ?? null])), w.leases, name);
    assert.ok(got.notes.length > 0 || given.steer === null, `${name}: says what it did`);
  }
});

test('planAdoption: radios on an AP are adopted with it; one associating is not', () => {
  const got = planAdoption({ ...running, uplinks: { ...running.uplinks, wlan1: { ...running.uplinks.wlan1!, radio: { state: 'ASSOCIATING', ssid: 'street-7' } } } }, want);
  assert.deepEqual(got.uplinks.wlan0!.ap, { ssid: 'depot', bssid: '02:00:00:00:00:01' });
  assert.equal(got.uplinks.wlan1!.ap, null);
  assert.equal(got.uplinks.wwan0!.ap, null);
});

test('foundLease: the address the table routes from, with its gateway; nothing without a default route', () => {
  const table: Array<{ name: string; given: FoundUplink; want: string | null }> = [
    { name: 'address and default route', given: up('192.168.10.5', '192.168.10.1', 'wlan0'), want: '192.168.10.5/24 via 192.168.10.1' },
    { name: 'no default route in its table', given: { addrs: [{ local: '192.168.10.5', prefixlen: 24 }], tableDefault: null, radio: null }, want: null },
    { name: 'two addresses: the route\'s source picks', given: { addrs: [{ local: '10.0.0.2', prefixlen: 8 }, { local: '192.168.10.5', prefixlen: 24 }], tableDefault: { gateway: '192.168.10.1', dev: 'wlan0', prefsrc: '192.168.10.5' }, radio: null }, want: '192.168.10.5/24 via 192.168.10.1' },
    { name: 'route through another device', given: { ...up('192.168.10.5', '192.168.10.1', 'wlan0'), tableDefault: { gateway: '192.168.10.1', dev: 'eth9' } }, want: null },
    { name: 'source no longer on the interface', given: { addrs: [], tableDefault: { gateway: '192.168.10.1', dev: 'wlan0', prefsrc: '192.168.10.5' }, radio: null }, want: null },
  ];
  for (const { name, given, want: w } of table) {
    const l = foundLease(given, 'wlan0');
    assert.equal(l ? `${l.address}/${l.prefix} via ${l.router}` : null, w, name);
  }
});

test('parseSteerTable: nft -j of the table as the agent writes it (captured, nft 1.0.6)', () => {
  const captured = '{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "ip", "name": "roamlink", "handle": 1}}, {"chain": {"family": "ip", "table": "roamlink", "name": "steer", "handle": 1, "type": "route", "hook": "output", "prio": -150, "policy": "accept"}}, {"rule": {"family": "ip", "table": "roamlink", "chain": "steer", "handle": 2, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": 51820}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "10.99.0.1"}}, {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 51820}}, {"mangle": {"key": {"meta": {"key": "mark"}}, "value": 51821}}, {"mangle": {"key": {"payload": {"protocol": "ip", "field": "saddr"}}, "value": "192.168.10.5"}}]}}]}';
  assert.deepEqual(parseSteerTable(captured), { hooked: true, rule: { wgMark: 51820, endpoint: { address: '10.99.0.1', port: 51820 }, target: { mark: 51821, address: '192.168.10.5' } } });
  // The table with no target yet (a chain, no rule).
  const empty = JSON.parse(captured) as { nftables: unknown[] };
  empty.nftables = empty.nftables.slice(0, 3);
  assert.deepEqual(parseSteerTable(JSON.stringify(empty)), { hooked: true, rule: null });
  assert.throws(() => parseSteerTable('{"x": 1}'), /no "nftables" array/);
});

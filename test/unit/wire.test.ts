// Wire schemas: switch events, heartbeats, site profiles (ranges and rules between fields), site matching, errors naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWire } from '../../shared/wire/common.js';
import { eventBatchSchema, switchEventSchema } from '../../shared/wire/switch-event.js';
import { heartbeatSchema } from '../../shared/wire/heartbeat.js';
import { DEFAULT_POLICY } from '../../agent/policy/policy.js';
import { PROFILE_DEFAULTS, PROFILE_FIELDS, diffSites, effectiveProfile, matchSite, profileSchema, siteInputSchema, type Site } from '../../shared/wire/site-profile.js';

export const EVENT = {
  id: '6f1c1a52-3f0e-4d7a-9a51-0c3f3c7f2a11', vehicle: 'bus-7', seq: 1, at: '2026-11-21T10:00:00.123Z',
  from: 'wlan0', to: 'wlan1', reason: 'signal', ms_to_first_packet: 12.5,
  candidates: [{ name: 'wlan0', phase: 'ready', ready: true, signal: -81, rtt_ms: 20, loss: 0 }],
};

test('switch event: a good one parses, defaults filled', () => {
  const r = parseWire(switchEventSchema, EVENT);
  assert.equal(r.ok, true);
  if (!r.ok) return;
  assert.equal(r.value.site, null);
  assert.equal(r.value.gap_ms, null);
  assert.equal(r.value.candidates[0]!.score, null);
});

test('switch event: each malformed field is named', () => {
  const cases: Array<{ name: string; given: Record<string, unknown>; field: string }> = [
    { name: 'id not a uuid', given: { id: 'x' }, field: 'id' },
    { name: 'vehicle name', given: { vehicle: 'Bus 7' }, field: 'vehicle' },
    { name: 'seq zero', given: { seq: 0 }, field: 'seq' },
    { name: 'seq fraction', given: { seq: 1.5 }, field: 'seq' },
    { name: 'at without zone', given: { at: '2026-11-21 10:00' }, field: 'at' },
    { name: 'to missing', given: { to: undefined }, field: 'to' },
    { name: 'reason not a word', given: { reason: 'Signal!' }, field: 'reason' },
    { name: 'negative gap', given: { ms_to_first_packet: -1 }, field: 'ms_to_first_packet' },
    { name: 'candidate loss > 1', given: { candidates: [{ name: 'wlan0', phase: 'ready', ready: true, loss: 2 }] }, field: 'candidates[0].loss' },
    { name: 'unknown field', given: { colour: 'red' }, field: '(body)' },
  ];
  for (const c of cases) {
    const r = parseWire(switchEventSchema, { ...EVENT, ...c.given });
    assert.equal(r.ok, false, c.name);
    if (!r.ok && c.field !== '(body)') assert.equal(r.field, c.field, c.name);
  }
});

test('event batch: the bad event is named by its index; empty and oversized batches refused', () => {
  const r = parseWire(eventBatchSchema, { events: [EVENT, { ...EVENT, to: '' }] });
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.field, 'events[1].to');
  assert.equal(parseWire(eventBatchSchema, { events: [] }).ok, false);
  assert.equal(parseWire(eventBatchSchema, { events: Array(1001).fill(EVENT) }).ok, false);
});

test('heartbeat: parses with defaults; bad fields named', () => {
  const hb = { vehicle: 'bus-7', at: '2026-11-21T10:00:00Z', active: 'wlan0', uplinks: [{ name: 'wlan0', kind: 'wifi', state: 'ready', ready: true, signal: -60 }] };
  const r = parseWire(heartbeatSchema, hb);
  assert.equal(r.ok, true);
  if (r.ok) assert.equal(r.value.journal_backlog, 0);
  const bad = parseWire(heartbeatSchema, { ...hb, uplinks: [{ ...hb.uplinks[0], signal: 20 }] });
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.equal(bad.field, 'uplinks[0].signal');
});

test('profile: every Policy field is a profile field, and the defaults agree with the policy', () => {
  for (const k of Object.keys(DEFAULT_POLICY)) assert.ok((PROFILE_FIELDS as string[]).includes(k), `profile lacks ${k}`);
  for (const [k, v] of Object.entries(DEFAULT_POLICY)) assert.equal((PROFILE_DEFAULTS as unknown as Record<string, unknown>)[k], v);
  assert.equal(profileSchema.safeParse(PROFILE_DEFAULTS).success, true);
});

test('profile: ranges and rules between fields, on effective values, name the field', () => {
  const cases: Array<{ name: string; given: Record<string, unknown>; field: string | null }> = [
    { name: 'empty is fine', given: {}, field: null },
    { name: 'a full override', given: { switch_below: -70, hysteresis_db: 6, lte: 'never', probe_interval_ms: 800 }, field: null },
    { name: 'switch_below too high', given: { switch_below: -10 }, field: 'switch_below' },
    { name: 'loss_max > 1', given: { loss_max: 1.5 }, field: 'loss_max' },
    { name: 'lte unknown', given: { lte: 'sometimes' }, field: 'lte' },
    { name: 'fractional ms', given: { hold_ms: 10.5 }, field: 'hold_ms' },
    { name: 'unknown field (typo)', given: { hysterisis_db: 3 }, field: '' },
    { name: 'min_signal above the default switch_below', given: { min_signal: -60 }, field: 'min_signal' },
    { name: 'switch_below below the default min_signal', given: { switch_below: -90 }, field: 'switch_below' },
    { name: 'busy above idle', given: { dead_busy_ms: 2000 }, field: 'dead_busy_ms' },
    { name: 'probe timeout ≥ interval', given: { probe_interval_ms: 400 }, field: 'probe_interval_ms' },
  ];
  for (const c of cases) {
    const r = parseWire(profileSchema, c.given);
    if (c.field === null) assert.equal(r.ok, true, c.name);
    else {
      assert.equal(r.ok, false, c.name);
      if (!r.ok && c.field) assert.equal(r.field, c.field, c.name);
    }
  }
  assert.equal(effectiveProfile({ hold_ms: 100 }).hold_ms, 100);
  assert.equal(effectiveProfile({}).dwell_ms, DEFAULT_POLICY.dwell_ms);
});

test('site input: match rules required (except default), BSSIDs lower-cased', () => {
  assert.equal(siteInputSchema.safeParse({ name: 'depot' }).success, false);
  assert.equal(siteInputSchema.safeParse({ name: 'default' }).success, true);
  assert.equal(siteInputSchema.safeParse({ name: 'default', match: { ssid: ['x'] } }).success, false);
  const r = siteInputSchema.parse({ name: 'depot', match: { bssid: ['02:AA:00:00:00:01'] } });
  assert.deepEqual(r.match, { ssid: [], bssid: ['02:aa:00:00:00:01'], area_prefix: [] });
});

const site = (name: string, match: Partial<Site['match']>): Site => ({
  name, version: 1, description: null, profile: {}, updated_at: '2026-11-21T10:00:00Z',
  match: { ssid: [], bssid: [], area_prefix: [], ...match },
});

test('matchSite: BSSID, then SSID, then the longest area prefix, then default', () => {
  const sites = [
    site('default', {}),
    site('depot', { ssid: ['depot'] }),
    site('depot-gate', { bssid: ['02:00:00:00:00:09'] }),
    site('streets', { area_prefix: ['street-'] }),
    site('street-7x', { area_prefix: ['street-7'] }),
    site('area-oui', { area_prefix: ['02:00:00:01'] }),
  ];
  const table: Array<{ name: string; ap: { ssid: string; bssid: string } | null; want: string | null }> = [
    { name: 'bssid wins over ssid', ap: { ssid: 'depot', bssid: '02:00:00:00:00:09' }, want: 'depot-gate' },
    { name: 'ssid', ap: { ssid: 'depot', bssid: '02:00:00:00:00:01' }, want: 'depot' },
    { name: 'longest prefix', ap: { ssid: 'street-7', bssid: '02:00:00:00:00:02' }, want: 'street-7x' },
    { name: 'shorter prefix', ap: { ssid: 'street-9', bssid: '02:00:00:00:00:03' }, want: 'streets' },
    { name: 'bssid prefix, any case', ap: { ssid: 'x', bssid: '02:00:00:01:AB:CD' }, want: 'area-oui' },
    { name: 'nothing: default', ap: { ssid: 'elsewhere', bssid: '02:00:00:00:00:04' }, want: 'default' },
    { name: 'no AP (LTE): default', ap: null, want: 'default' },
  ];
  for (const c of table) assert.equal(matchSite(sites, c.ap)?.name ?? null, c.want, c.name);
  assert.equal(matchSite(sites.slice(1), null), null);
});

test('diffSites: only what changed, with from and to', () => {
  const a = { description: null, match: { ssid: ['depot'], bssid: [], area_prefix: [] }, profile: { hold_ms: 3000 } };
  const b = { description: 'the yard', match: { ssid: ['depot'], bssid: [], area_prefix: [] }, profile: { hold_ms: 2000, lte: 'never' as const } };
  assert.deepEqual(diffSites(a, b), {
    description: { from: null, to: 'the yard' },
    'profile.hold_ms': { from: 3000, to: 2000 },
    'profile.lte': { from: null, to: 'never' },
  });
  // A new site: every field set (description null stays out: null to null is no change).
  assert.deepEqual(Object.keys(diffSites(null, a)).sort(), ['match.area_prefix', 'match.bssid', 'match.ssid', 'profile.hold_ms']);
});

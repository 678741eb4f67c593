// Every field a site profile (or the agent config) accepts changes behaviour: one case per field of shared/policy.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseUplink, EMPTY_MEMORY, type ArbiterSnapshot, type Decision, type UplinkView } from '../../agent/policy/choose.js';
import { applyFor } from '../../agent/sites/apply.js';
import { chooseRedundancy, NO_REDUNDANCY } from '../../agent/policy/redundancy.js';
import { POLICY_FIELDS, policyOverridesSchema, type PolicyField, type PolicyOverrides } from '../../shared/policy.js';
import type { SiteSet } from '../../shared/wire/site-profile.js';

const NOW = 1_000_000;
const probe = (last_ok_at: number, loss = 0) => ({ rtt_ms: 12, loss, last_ok_at });
const wifi = (name: string, signal: number, over: Partial<UplinkView> = {}): UplinkView => ({ name, kind: 'wifi', state: 'standby', signal, ready: true, carrier: true, probe: probe(NOW - 50), ...over });
const lte = (): UplinkView => ({ name: 'wwan0', kind: 'lte', state: 'standby', signal: -95, ready: true, carrier: true, probe: probe(NOW - 50) });
const snap = (uplinks: UplinkView[], over: Partial<ArbiterSnapshot> = {}): ArbiterSnapshot =>
  ({ uplinks: uplinks.map((u) => (u.name === 'wlan0' ? { ...u, state: 'active' } : u)), active: 'wlan0', activeSince: NOW - 60_000, ...over });
const below = (since: number) => ({ ...EMPTY_MEMORY, belowSince: since });
const fastCase = () => snap([wifi('wlan0', -60, { probe: { ...probe(NOW - 100), in_flight_since: NOW - 50 } }), wifi('wlan1', -65, { probe: { ...probe(NOW - 5), last_ok_sent_at: NOW - 8 } })],
  { tunnel: { last_rx_at: NOW - 60, last_tx_at: NOW - 5, rx_rate: 1 }, memory: { ...EMPTY_MEMORY, busySince: NOW - 5000 } });
const busy = { tunnel: { last_rx_at: null, last_tx_at: NOW - 10 }, memory: { ...EMPTY_MEMORY, busySince: NOW - 5000 } };

/** The decision as the table compares it. */
const outcome = (d: Decision) => (d.action === 'switch' ? `switch ${d.to} (${d.rule})${d.holdDown ? ` hold-down until +${d.holdDown.until - NOW}` : ''}` : `stay (${d.why.rule})`);

/** The decision under the policy a site's profile makes: the profile as HQ stores it, applied as the agent applies it. */
function decide(given: ArbiterSnapshot, profile: PolicyOverrides): string {
  const set: SiteSet = { version: 1, sites: [{ name: 'default', version: 1, description: null, match: { ssid: [], bssid: [], area_prefix: [] }, profile: policyOverridesSchema.parse(profile), updated_at: '2026-12-03T00:00:00.000Z' }] };
  return outcome(chooseUplink(given, applyFor(set, null).policy, NOW));
}

/** The arbiter's fields: a snapshot, a profile setting one field, and the decision without and with it. */
const ARBITER_CASES: Array<{ field: PolicyField; given: ArbiterSnapshot; base?: PolicyOverrides; profile: PolicyOverrides; without: string; with: string }> = [
  { field: 'switch_below', given: snap([wifi('wlan0', -72), wifi('wlan1', -60)], { memory: below(NOW - 2000) }), profile: { switch_below: -70 }, without: 'stay (none)', with: 'switch wlan1 (signal)' },
  { field: 'hysteresis_db', given: snap([wifi('wlan0', -80), wifi('wlan1', -72), lte()], { memory: below(NOW - 2000) }), profile: { hysteresis_db: 2 }, without: 'stay (none)', with: 'switch wlan1 (signal)' },
  { field: 'below_ms', given: snap([wifi('wlan0', -80), wifi('wlan1', -60)], { memory: below(NOW - 2000) }), profile: { below_ms: 5000 }, without: 'switch wlan1 (signal)', with: 'stay (none)' },
  { field: 'hold_ms', given: snap([wifi('wlan0', -65), wifi('wlan1', -55)], { memory: { ...EMPTY_MEMORY, betterSince: { wlan1: NOW - 2000 } } }), profile: { hold_ms: 1000 }, without: 'stay (none)', with: 'switch wlan1 (better)' },
  { field: 'dwell_ms', given: snap([wifi('wlan0', -80), wifi('wlan1', -60)], { activeSince: NOW - 3000, memory: below(NOW - 2000) }), profile: { dwell_ms: 1000 }, without: 'stay (dwell)', with: 'switch wlan1 (signal)' },
  { field: 'hold_down_ms', given: snap([wifi('wlan0', -60, { carrier: false }), wifi('wlan1', -65)]), profile: { hold_down_ms: 1000 }, without: 'switch wlan1 (carrier-loss) hold-down until +30000', with: 'switch wlan1 (carrier-loss) hold-down until +1000' },
  { field: 'dead_busy_ms', given: snap([wifi('wlan0', -60, { probe: probe(NOW - 450) }), wifi('wlan1', -65)], busy), profile: { dead_busy_ms: 600 }, without: 'switch wlan1 (blackhole) hold-down until +30000', with: 'stay (none)' },
  { field: 'dead_idle_ms', given: snap([wifi('wlan0', -60, { probe: probe(NOW - 1300) }), wifi('wlan1', -65)]), profile: { dead_idle_ms: 2000 }, without: 'switch wlan1 (blackhole) hold-down until +30000', with: 'stay (none)' },
  // The fast check: 1 packet/ms came back until 60 ms ago; wlan0's probe sent 50 ms ago is unanswered, wlan1 answered one
  // sent 42 ms after it.
  // (The fast check is on by default, dead_packets 20: a site's profile turns it off with 0, or asks more packets.)
  { field: 'dead_packets', given: fastCase(), profile: { dead_packets: 0 }, without: 'switch wlan1 (blackhole) hold-down until +30000', with: 'stay (none)' },
  { field: 'dead_fast_ms', given: fastCase(), profile: { dead_fast_ms: 60 }, without: 'switch wlan1 (blackhole) hold-down until +30000', with: 'stay (none)' },
  {
    field: 'busy_window_ms',
    given: snap([wifi('wlan0', -60, { probe: probe(NOW - 700) }), wifi('wlan1', -65)], { tunnel: { last_rx_at: null, last_tx_at: NOW - 300 }, memory: { ...EMPTY_MEMORY, busySince: NOW - 5000 } }),
    profile: { busy_window_ms: 350 }, without: 'stay (none)', with: 'switch wlan1 (blackhole) hold-down until +30000',
  },
  { field: 'loss_max', given: snap([wifi('wlan0', -60, { probe: probe(NOW - 50, 0.2) }), wifi('wlan1', -65)]), profile: { loss_max: 0.1 }, without: 'stay (none)', with: 'switch wlan1 (loss) hold-down until +30000' },
  { field: 'forced_hold_ms', given: snap([wifi('wlan0', -80), wifi('wlan1', -60)], { forced: { to: 'wlan0', at: NOW - 10_000 }, memory: below(NOW - 2000) }), profile: { forced_hold_ms: 5000 }, without: 'stay (forced)', with: 'switch wlan1 (signal)' },
  { field: 'lte', given: snap([wifi('wlan0', -85), lte()], { active: null, activeSince: null }), profile: { lte: 'last-resort' }, without: 'switch wwan0 (initial)', with: 'switch wlan0 (initial)' },
];

/** The redundancy fields: the standby copies go through (or none), under the policy a site's profile makes. */
function copies(given: ArbiterSnapshot, profile: PolicyOverrides, prev = NO_REDUNDANCY): string {
  const set: SiteSet = { version: 1, sites: [{ name: 'default', version: 1, description: null, match: { ssid: [], bssid: [], area_prefix: [] }, profile: policyOverridesSchema.parse(profile), updated_at: '2026-12-03T00:00:00.000Z' }] };
  return chooseRedundancy(given, applyFor(set, null).policy, NOW, prev).via ?? 'none';
}
const REDUNDANCY_CASES: Array<{ field: PolicyField; given: ArbiterSnapshot; base?: PolicyOverrides; prev?: typeof NO_REDUNDANCY; profile: PolicyOverrides; without: string; with: string }> = [
  // (redundancy is risk by default; the risk fields' cases set it anyway, so each row says what it is judged under.)
  { field: 'redundancy', given: snap([wifi('wlan0', -60), wifi('wlan1', -65)]), profile: { redundancy: 'always' }, without: 'none', with: 'wlan1' },
  { field: 'risk_signal', given: snap([wifi('wlan0', -68), wifi('wlan1', -65)]), base: { redundancy: 'risk' }, profile: { risk_signal: -66 }, without: 'none', with: 'wlan1' },
  { field: 'risk_loss', given: snap([wifi('wlan0', -60, { probe: probe(NOW - 50, 0.05) }), wifi('wlan1', -65)]), base: { redundancy: 'risk' }, profile: { risk_loss: 0.05 }, without: 'none', with: 'wlan1' },
  { field: 'risk_rtt_ms', given: snap([wifi('wlan0', -60, { probe: { ...probe(NOW - 50), rtt_ms: 200 } }), wifi('wlan1', -65)]), base: { redundancy: 'risk' }, profile: { risk_rtt_ms: 150 }, without: 'none', with: 'wlan1' },
  // Clear of risk for 2 s (signal -60, above -70 + 5): still copying under the default 3 s of risk_off_ms, not under 1 s.
  { field: 'risk_off_ms', given: snap([wifi('wlan0', -60), wifi('wlan1', -65)]), base: { redundancy: 'risk' }, prev: { via: 'wlan1', since: NOW - 10_000, clearSince: NOW - 2000 }, profile: { risk_off_ms: 1000 }, without: 'wlan1', with: 'none' },
];

for (const c of REDUNDANCY_CASES) {
  test(`policy field ${c.field}: a site's profile changes the copies`, () => {
    assert.equal(copies(c.given, { ...c.base }, c.prev), c.without, 'the defaults');
    assert.equal(copies(c.given, { ...c.base, ...c.profile }, c.prev), c.with, JSON.stringify(c.profile));
  });
}

/** The uplinks' fields, each proven by a machine test on the simulated clock in test/unit/uplink.machine.test.ts ("policy field <name>: ..."). */
const UPLINK_FIELDS: PolicyField[] = ['min_signal', 'probe_interval_ms', 'probe_timeout_ms', 'scan_interval_ms'];

test('every policy field has a case that shows it changes behaviour (no field accepted and ignored)', () => {
  const covered = [...ARBITER_CASES.map((c) => c.field), ...REDUNDANCY_CASES.map((c) => c.field), ...UPLINK_FIELDS].sort();
  assert.deepEqual(covered, [...POLICY_FIELDS].sort());
});

for (const c of ARBITER_CASES) {
  test(`policy field ${c.field}: a site's profile changes the arbiter's decision`, () => {
    assert.equal(decide(c.given, { ...c.base }), c.without, 'the defaults');
    assert.equal(decide(c.given, { ...c.base, ...c.profile }), c.with, JSON.stringify(c.profile));
  });
}

test('a field the agent cannot apply is refused by the schema, never stored', () => {
  const r = policyOverridesSchema.safeParse({ roam_aggressiveness: 3 });
  assert.equal(r.success, false);
  assert.match(r.error!.issues[0]!.message, /Unrecognized key/);
});

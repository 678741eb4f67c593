// Redundancy decisions (agent/policy/redundancy.ts) as a table on a simulated clock: when copies go on and off, and
// which standby may carry them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseRedundancy, NO_REDUNDANCY, type RedundancyMemory } from '../../agent/policy/redundancy.js';
import type { UplinkView } from '../../agent/policy/choose.js';
import { policyWith } from '../../shared/policy.js';

const NOW = 100_000;
const probe = { rtt_ms: 10, loss: 0, last_ok_at: NOW - 100 };
const wifi = (name: string, signal: number, over: Partial<UplinkView> = {}): UplinkView => ({ name, kind: 'wifi', state: 'standby', signal, ready: true, carrier: true, probe, ...over });
const lte: UplinkView = { name: 'wwan0', kind: 'lte', state: 'standby', signal: -95, ready: true, carrier: true, probe };
const P = policyWith({ redundancy: 'risk' });

const CASES: Array<{ name: string; uplinks: UplinkView[]; prev?: RedundancyMemory; policy?: Parameters<typeof policyWith>[0]; quiet?: Array<{ from: number; to: number | null }>; want: string | null }> = [
  { name: 'not at risk: none', uplinks: [wifi('wlan0', -60), wifi('wlan1', -62)], want: null },
  { name: 'signal below risk_signal: through the standby Wi-Fi', uplinks: [wifi('wlan0', -72), wifi('wlan1', -62)], want: 'wlan1' },
  { name: 'the strongest of two standbys', uplinks: [wifi('wlan0', -72), wifi('wlan1', -66), wifi('wlan2', -60)], want: 'wlan2' },
  { name: 'the one already carrying copies while it can', uplinks: [wifi('wlan0', -72), wifi('wlan1', -66), wifi('wlan2', -60)], prev: { via: 'wlan1', since: NOW - 500, clearSince: null }, want: 'wlan1' },
  // One unanswered probe is no risk (a realistic link's 1 % loss; copyProof would then make a blackhole's switch wait
  // for the second); two in a row are, the proof copyProof asks.
  { name: 'one probe of the active unanswered: not at risk', uplinks: [wifi('wlan0', -60, { probe: { ...probe, failing: { since: NOW - 20, last_at: NOW - 20, lost_before: [] } } }), wifi('wlan1', -62)], want: null },
  { name: 'two probes of the active unanswered in a row: at risk', uplinks: [wifi('wlan0', -60, { probe: { ...probe, failing: { since: NOW - 520, last_at: NOW - 20, lost_before: [] } } }), wifi('wlan1', -62)], want: 'wlan1' },
  // ...but only while another path answered after the first was given up: the active's path, not HQ. The far end
  // silent on every path loses the standbys' probes too (2026-12-03, lab far-end.test busy under the risk default: two
  // unanswered probes of the active during HQ's 3 s silence began copies, and the tunnel was moved on copyProof: 1219 lost).
  { name: 'two in a row, no other path answered since the first was given up (HQ silent on every path): not at risk', uplinks: [wifi('wlan0', -60, { probe: { ...probe, last_ok_at: NOW - 1100, failing: { since: NOW - 520, last_at: NOW - 20, lost_before: [] } } }), wifi('wlan1', -62, { probe: { ...probe, last_ok_at: NOW - 900, failing: { since: NOW - 300, last_at: NOW - 300, lost_before: [] } } })], want: null },
  { name: 'two in a row, the standby last answered just before the first was given up: not yet', uplinks: [wifi('wlan0', -60, { probe: { ...probe, last_ok_at: NOW - 1100, failing: { since: NOW - 520, last_at: NOW - 20, lost_before: [] } } }), wifi('wlan1', -62, { probe: { ...probe, last_ok_at: NOW - 521 } })], want: null },
  { name: 'two in a row, the standby answered after the first was given up: at risk', uplinks: [wifi('wlan0', -60, { probe: { ...probe, last_ok_at: NOW - 1100, failing: { since: NOW - 520, last_at: NOW - 20, lost_before: [] } } }), wifi('wlan1', -62, { probe: { ...probe, last_ok_at: NOW - 519 } })], want: 'wlan1' },
  // HQ coming back after a silence on every path (a quiet spell): the standby may answer before the active's next probe
  // does; the active's two given up in the spell (or up to dead_idle_ms after it: their timeouts) are no risk, and two
  // given up after it are.
  { name: 'two in a row lost in a quiet spell that just ended, the standby answered first: not at risk', uplinks: [wifi('wlan0', -60, { probe: { ...probe, last_ok_at: NOW - 4000, failing: { since: NOW - 2500, last_at: NOW - 300, lost_before: [], prev_at: NOW - 1400 } } }), wifi('wlan1', -62, { probe: { ...probe, last_ok_at: NOW - 10 } })], quiet: [{ from: NOW - 3000, to: NOW - 10 }], want: null },
  { name: 'the same run, the active still unanswered well after the spell: at risk', uplinks: [wifi('wlan0', -60, { probe: { ...probe, last_ok_at: NOW - 4000, failing: { since: NOW - 2500, last_at: NOW - 20, lost_before: [], prev_at: NOW - 520 } } }), wifi('wlan1', -62, { probe: { ...probe, last_ok_at: NOW - 10 } })], quiet: [{ from: NOW - 3000, to: NOW - 1800 }], want: 'wlan1' },
  { name: 'two in a row, the first lost in a quiet spell, the run\'s give-ups unknown (a drive): not at risk', uplinks: [wifi('wlan0', -60, { probe: { ...probe, last_ok_at: NOW - 4000, failing: { since: NOW - 2500, last_at: NOW - 20, lost_before: [] } } }), wifi('wlan1', -62, { probe: { ...probe, last_ok_at: NOW - 10 } })], quiet: [{ from: NOW - 3000, to: NOW - 1800 }], want: null },
  // Probe loss from a far-end silence (every path quiet) is not the path's risk while the loss window may hold it
  // (20 probes at the 1 s rest pace): copies cannot help against HQ's silence.
  { name: 'probe loss at risk_loss: at risk', uplinks: [wifi('wlan0', -60, { probe: { ...probe, loss: 0.25, probes: 20 } }), wifi('wlan1', -62)], want: 'wlan1' },
  { name: 'probe loss at risk_loss, a far-end silence ended 5 s ago: not at risk', uplinks: [wifi('wlan0', -60, { probe: { ...probe, loss: 0.25, probes: 20 } }), wifi('wlan1', -62)], quiet: [{ from: NOW - 8000, to: NOW - 5000 }], want: null },
  { name: 'probe loss at risk_loss, the far end silent now: not at risk', uplinks: [wifi('wlan0', -60, { probe: { ...probe, loss: 0.25, probes: 20 } }), wifi('wlan1', -62)], quiet: [{ from: NOW - 800, to: null }], want: null },
  { name: 'probe loss at risk_loss, a far-end silence ended 25 s ago (out of the window): at risk', uplinks: [wifi('wlan0', -60, { probe: { ...probe, loss: 0.25, probes: 20 } }), wifi('wlan1', -62)], quiet: [{ from: NOW - 28_000, to: NOW - 25_000 }], want: 'wlan1' },
  // LTE (issue 13, item 1): only within lte_budget, and only when no Wi-Fi can.
  { name: 'LTE with budget left, no standby Wi-Fi: through LTE', uplinks: [wifi('wlan0', -72), { ...lte, budget_left: 2_000_000 }], want: 'wwan0' },
  { name: 'LTE past its budget: none', uplinks: [wifi('wlan0', -72), { ...lte, budget_left: 0 }], want: null },
  { name: 'LTE whose budget is unknown: none (deny by default)', uplinks: [wifi('wlan0', -72), lte], want: null },
  { name: 'a standby Wi-Fi and LTE with budget: the Wi-Fi', uplinks: [wifi('wlan0', -72), { ...lte, budget_left: 2_000_000 }, wifi('wlan1', -78)], want: 'wlan1' },
  { name: 'copies through LTE, a Wi-Fi standby can now: moved to the Wi-Fi', uplinks: [wifi('wlan0', -72), { ...lte, budget_left: 2_000_000 }, wifi('wlan1', -70)], prev: { via: 'wwan0', since: NOW - 5000, clearSince: null }, want: 'wlan1' },
  { name: 'copies through LTE, its budget spent: off', uplinks: [wifi('wlan0', -72), { ...lte, budget_left: 0 }], prev: { via: 'wwan0', since: NOW - 5000, clearSince: null }, want: null },
  { name: 'LTE held down, budget left: none', uplinks: [wifi('wlan0', -72), { ...lte, budget_left: 2_000_000, state: 'hold-down', holdDownUntil: NOW + 1000 }], want: null },
  { name: 'a standby with no address (addressing): none', uplinks: [wifi('wlan0', -72), wifi('wlan1', -62, { state: 'addressing', ready: false })], want: null },
  { name: 'a standby in hold-down carries none', uplinks: [wifi('wlan0', -72), wifi('wlan1', -62, { state: 'hold-down', holdDownUntil: NOW + 1000 })], want: null },
  { name: 'a standby without an answered probe (no address yet) carries none', uplinks: [wifi('wlan0', -72), wifi('wlan1', -62, { ready: false, probe: { ...probe, last_ok_at: null } })], want: null },
  { name: 'a lossy standby carries none', uplinks: [wifi('wlan0', -72), wifi('wlan1', -62, { probe: { ...probe, loss: 0.4 } })], want: null },
  // Hysteresis: on below -70, clear only at -65 (risk_signal + hysteresis_db), then off risk_off_ms later.
  { name: 'back above risk_signal but under risk_signal + hysteresis_db: still on', uplinks: [wifi('wlan0', -68), wifi('wlan1', -62)], prev: { via: 'wlan1', since: NOW - 9000, clearSince: null }, want: 'wlan1' },
  { name: 'clear for 2 s: still on (risk_off_ms 3 s)', uplinks: [wifi('wlan0', -60), wifi('wlan1', -62)], prev: { via: 'wlan1', since: NOW - 9000, clearSince: NOW - 2000 }, want: 'wlan1' },
  { name: 'clear for 3 s: off', uplinks: [wifi('wlan0', -60), wifi('wlan1', -62)], prev: { via: 'wlan1', since: NOW - 9000, clearSince: NOW - 3000 }, want: null },
  { name: 'redundancy off: none, even at risk', uplinks: [wifi('wlan0', -80), wifi('wlan1', -62)], policy: { redundancy: 'off' }, want: null },
  { name: 'redundancy always: even when not at risk', uplinks: [wifi('wlan0', -50), wifi('wlan1', -62)], policy: { redundancy: 'always' }, want: 'wlan1' },
];

for (const c of CASES) {
  test(`chooseRedundancy: ${c.name}`, () => {
    const uplinks = c.uplinks.map((u) => (u.name === 'wlan0' ? { ...u, state: 'active' as const } : u));
    const d = chooseRedundancy({ uplinks, active: 'wlan0', ...(c.quiet ? { memory: { belowSince: null, betterSince: {}, busySince: null, quiet: c.quiet } } : {}) }, c.policy ? policyWith({ redundancy: 'risk', ...c.policy }) : P, NOW, c.prev ?? NO_REDUNDANCY);
    assert.equal(d.via, c.want, d.why);
  });
}

test('chooseRedundancy: the why names what each standby lacks, and LTE\'s budget left when it carries them', () => {
  const at = (u: UplinkView[]) => chooseRedundancy({ uplinks: [wifi('wlan0', -72, { state: 'active' }), ...u], active: 'wlan0' }, P, NOW);
  assert.equal(at([{ ...lte, budget_left: 0 }, wifi('wlan1', -62, { state: 'hold-down', holdDownUntil: NOW + 1 })]).why,
    'wlan0 -72 dBm below risk_signal -70 dBm: no standby can carry copies (wwan0 past its lte_budget, wlan1 held down)');
  assert.match(at([{ ...lte, budget_left: 1_234_000 }]).why, /copies through wwan0 \(LTE: 1234 kB of lte_budget left\)$/);
});

test('chooseRedundancy: the clear spell restarts when the risk comes back', () => {
  const on = { via: 'wlan1', since: NOW - 9000, clearSince: NOW - 2500 };
  const risky = chooseRedundancy({ uplinks: [wifi('wlan0', -75, { state: 'active' }), wifi('wlan1', -62)], active: 'wlan0' }, P, NOW, on);
  assert.deepEqual(risky.memory, { via: 'wlan1', since: NOW - 9000, clearSince: null });
  const clear = chooseRedundancy({ uplinks: [wifi('wlan0', -60, { state: 'active' }), wifi('wlan1', -62)], active: 'wlan0' }, P, NOW + 100, risky.memory);
  assert.deepEqual([clear.via, clear.memory.clearSince], ['wlan1', NOW + 100]);
});

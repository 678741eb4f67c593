// The SMS alert policy as a table over time: fall-back, Wi-Fi lost, tunnel down, recovery, low balance, rate limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideAlerts, initialAlertState, type AlertFacts, type AlertPolicy, type AlertState } from '../../agent/sms/sms.alerts.js';

const policy: AlertPolicy = {
  vehicle: 'car-12', wifiLostAfterMs: 60_000, tunnelDownAfterMs: 120_000, onLteFallback: true, onRecovery: true,
  minIntervalMs: 600_000, maxPerHour: 6, lowBalance: 5,
};
const onWifi: AlertFacts = { activeUplink: 'wlan0', activeKind: 'wifi', wifiUp: true, tunnelUp: true };
const onLte: AlertFacts = { activeUplink: 'wwan0', activeKind: 'lte', wifiUp: false, tunnelUp: true };
const nothing: AlertFacts = { wifiUp: false, tunnelUp: false };

/** Feeds (time, facts) steps; returns the kinds sent at each step. */
function run(steps: Array<[number, AlertFacts]>, p: AlertPolicy = policy): { kinds: string[][]; texts: string[]; state: AlertState } {
  let state = initialAlertState;
  const kinds: string[][] = [];
  const texts: string[] = [];
  for (const [t, f] of steps) {
    const r = decideAlerts(state, f, p, t);
    state = r.state;
    kinds.push(r.alerts.map((a) => a.kind));
    texts.push(...r.alerts.map((a) => a.text));
  }
  return { kinds, texts, state };
}

test('alert policy table', () => {
  const table: Array<{ name: string; steps: Array<[number, AlertFacts]>; want: string[][]; p?: Partial<AlertPolicy> }> = [
    { name: 'all normal: nothing', steps: [[0, onWifi], [1e6, onWifi]], want: [[], []] },
    { name: 'fall back to LTE at once; Wi-Fi lost after 60 s; back to normal', steps: [[0, onWifi], [1000, onLte], [60_999, onLte], [61_000, onLte], [90_000, onWifi]], want: [[], ['lte-fallback'], [], ['wifi-lost'], ['recovered']] },
    { name: 'short Wi-Fi gap: no alert', steps: [[0, { ...onWifi, wifiUp: false }], [59_000, onWifi], [200_000, onWifi]], want: [[], [], []] },
    { name: 'tunnel down longer than 120 s', steps: [[0, nothing], [119_999, nothing], [120_000, nothing], [130_000, onWifi]], want: [[], ['wifi-lost'], ['tunnel-down'], ['recovered']] },
    { name: 'fallback alerts off', p: { onLteFallback: false }, steps: [[0, onLte], [30_000, onWifi]], want: [[], []] },
    { name: 'flapping: the second fall-back waits for min_interval, then is sent if still on LTE', steps: [[0, onLte], [10_000, onWifi], [20_000, onLte], [600_000, onLte]], want: [['lte-fallback'], ['recovered'], [], ['lte-fallback', 'wifi-lost']] },
    { name: 'low balance once, again only after it went back up', steps: [[0, { ...onWifi, balance: { amount: 4.5, currency: 'EUR' } }], [700_000, { ...onWifi, balance: { amount: 4.5 } }], [800_000, { ...onWifi, balance: { amount: 20 } }], [1_500_000, { ...onWifi, balance: { amount: 1 } }]], want: [['balance-low'], [], [], ['balance-low']] },
  ];
  for (const c of table) assert.deepEqual(run(c.steps, { ...policy, ...c.p }).kinds, c.want, c.name);
});

test('hourly cap across kinds', () => {
  const p = { ...policy, maxPerHour: 2, minIntervalMs: 0 };
  const r = run([[0, onLte], [1000, onWifi], [2000, onLte], [3000, onWifi], [3_600_001, onWifi]], p);
  assert.deepEqual(r.kinds, [['lte-fallback'], ['recovered'], [], [], []]);
});

test('texts name the vehicle, the uplink and durations, and fit one SMS', () => {
  const r = run([[0, onWifi], [1000, onLte], [61_000, onLte], [200_000, onWifi], [300_000, { ...onWifi, balance: { amount: 3.2, currency: 'EUR' } }]]);
  assert.deepEqual(r.texts, [
    'roamlink car-12: fell back to LTE (wwan0), no usable Wi-Fi. Tunnel up.',
    'roamlink car-12: all Wi-Fi lost for 60s; on wwan0.',
    'roamlink car-12: back to normal: on wlan0, tunnel up (after lte-fallback, wifi-lost).',
    'roamlink car-12: prepaid balance low: 3.20 EUR (below 5).',
  ]);
  for (const t of r.texts) assert.ok(t.length <= 160, t);
});

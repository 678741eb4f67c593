// A switch left half done (steered, never confirmed, the process killed): completed or abandoned by the facts found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settleIntents, type OpenIntent } from '../../agent/adopt/intents.plan.js';

const i = (id: string, from: string | null, to: string): OpenIntent => ({ id, from, to });

test('settleIntents: each open intent completed when its steering took effect, abandoned when not (table)', () => {
  const table: Array<{ name: string; open: OpenIntent[]; steered: string | null; want: Array<[string, 'complete' | 'abandon']> }> = [
    { name: 'nothing open', open: [], steered: 'wlan0', want: [] },
    { name: 'killed between steering and confirming: the steering points at its uplink', open: [i('a', 'wlan0', 'wlan1')], steered: 'wlan1', want: [['a', 'complete']] },
    { name: 'killed before the steering: the steering still points at the old uplink', open: [i('a', 'wlan0', 'wlan1')], steered: 'wlan0', want: [['a', 'abandon']] },
    { name: 'no steering found at all (a reboot): nothing took effect', open: [i('a', 'wlan0', 'wlan1')], steered: null, want: [['a', 'abandon']] },
    { name: 'the initial switch, steered', open: [i('a', null, 'wlan0')], steered: 'wlan0', want: [['a', 'complete']] },
    {
      name: 'an older intent whose completion was not written, then a newer one steered: both happened',
      open: [i('a', 'wlan0', 'wlan1'), i('b', 'wlan1', 'wwan0')], steered: 'wwan0', want: [['a', 'complete'], ['b', 'complete']],
    },
    {
      name: 'an older intent that never took effect (the next left from its from), the newer one killed before steering',
      open: [i('a', 'wlan0', 'wlan1'), i('b', 'wlan0', 'wwan0')], steered: 'wlan0', want: [['a', 'abandon'], ['b', 'abandon']],
    },
  ];
  for (const { name, open, steered, want } of table) {
    const got = settleIntents(open, steered);
    assert.deepEqual(got.map((v) => [v.id, v.do]), want, name);
    for (const v of got) assert.match(v.why, v.do === 'complete' ? /completed/ : /never took effect/, name);
  }
});

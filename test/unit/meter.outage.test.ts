// A fault's outage from synthetic meter records: from the fault to the first packet after the loss it caused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Direction } from '../../lab/meter/analyze.js';
import { indexDirection, outageAfter } from '../../lab/meter/outage.js';
import { RxRecorder, type MeterResult } from '../../lab/meter/result.js';

const START = 1_800_000_000_000;

function meter(pps: number, tx: Partial<MeterResult['tx']>, rx: MeterResult['rx']): MeterResult {
  return {
    meter: 1, run_id: 1, bind: '10.0.0.1:5000', peer: '10.0.0.2:5000', pps, duration_ms: 0, t0_ms: START, stopped: 'done',
    tx: { planned: 0, sent: 0, first_ms: null, last_ms: null, lag_max_ms: 0, errors: 0, ...tx }, rx,
  };
}

/** n datagrams at pps; `delay(seq)`: ms from its slot to its arrival, or null when lost. */
function direction(n: number, pps: number, delay: (seq: number) => number | null): Direction {
  const slot = (seq: number) => START + (seq * 1000) / pps;
  const arrivals: Array<{ seq: number; at: number }> = [];
  for (let seq = 0; seq < n; seq++) {
    const d = delay(seq);
    if (d !== null) arrivals.push({ seq, at: slot(seq) + d });
  }
  arrivals.sort((a, b) => a.at - b.at);
  const rec = new RxRecorder(START);
  for (const a of arrivals) rec.add(a.seq, a.at, slot(a.seq));
  return { name: 'up', sender: meter(pps, { planned: n, sent: n, first_ms: slot(0), last_ms: slot(n - 1) }, new RxRecorder(START).result()), receiver: meter(pps, {}, rec.result()) };
}

test('outage: the first packet after the fault\'s loss; packets the cut had not yet reached do not end it', () => {
  // Fault applied at 1000 ms; the path actually cut at 1004 (seqs 1000-1003 still arrive), 30 lost, then the standby.
  const d = indexDirection(direction(3000, 1000, (s) => (s >= 1004 && s < 1034 ? null : 0.5)));
  const o = outageAfter([d], START + 1000);
  assert.deepEqual(o, { outage_ms: 34.5, by_direction: [{ name: 'up', outage_ms: 34.5, lost: 30 }] });
});

test('outage: a later, unrelated loss more than 50 ms on is not the fault\'s; no loss at all: the nominal spacing', () => {
  const d = indexDirection(direction(3000, 1000, (s) => ((s >= 1010 && s < 1020) || (s >= 1500 && s < 1700) ? null : 0.5)));
  assert.equal(outageAfter([d], START + 1000).outage_ms, 20.5);
  const clean = indexDirection(direction(3000, 1000, () => 0.5));
  assert.equal(outageAfter([clean], START + 1000).outage_ms, 0.5);
});

test('outage: the worst direction; a direction that never recovers is null', () => {
  const up = indexDirection(direction(3000, 1000, (s) => (s >= 1000 && s < 1010 ? null : 0.5)));
  const down = indexDirection(direction(3000, 1000, (s) => (s >= 1000 && s < 1400 ? null : 0.5)));
  assert.equal(outageAfter([up, down], START + 1000).outage_ms, 400.5);
  const dead = indexDirection(direction(3000, 1000, (s) => (s >= 1000 ? null : 0.5)));
  assert.equal(outageAfter([up, dead], START + 1000).outage_ms, null);
});

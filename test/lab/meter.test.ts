// Lab smoke test of the traffic meter: two namespaces, real UDP both ways, then a 100 ms nftables drop it must count.
//
//   rlt-m-a-PID                                   rlt-m-b-PID
//   ma 10.201.0.1/24  ────────── veth ──────────  mb 10.201.0.2/24
//   meter :5001      ⇄  1000 pps each way, 2 s  ⇄  meter :5001     (drop: nft table in B, input + output)
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../../shared/exec.js';
import { analyze, type Analysis } from '../../lab/meter/analyze.js';
import { nowMs } from '../../lab/meter/meter.js';
import { startMeter, type MeterProcess } from '../../lab/meter/meter.process.js';

const NS_A = `rlt-m-a-${process.pid}`;
const NS_B = `rlt-m-b-${process.pid}`;
const A = '10.201.0.1';
const B = '10.201.0.2';
const PORT = 5001;
const PPS = 1000;
const DURATION_MS = 2000;
const DROP_TABLE = 'rlt_meter_drop';

const notRoot = process.getuid?.() !== 0 && 'needs root (network namespaces)';

/** Two namespaces joined by a veth, removed in t.after however the test ends. */
async function topology(t: TestContext): Promise<void> {
  t.after(async () => {
    for (const ns of [NS_A, NS_B]) await run(['ip', 'netns', 'del', ns], { allowFail: true });
  });
  for (const ns of [NS_A, NS_B]) await run(['ip', 'netns', 'add', ns]);
  await run(['ip', '-n', NS_A, 'link', 'add', 'name', 'ma', 'type', 'veth', 'peer', 'name', 'mb', 'netns', NS_B]);
  for (const [ns, dev, addr] of [[NS_A, 'ma', A], [NS_B, 'mb', B]] as const) {
    await run(['ip', '-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev]);
    await run(['ip', '-n', ns, 'link', 'set', 'dev', dev, 'up']);
    await run(['ip', '-n', ns, 'link', 'set', 'dev', 'lo', 'up']);
  }
  // Ready when a ping gets through (it also settles ARP before the run).
  for (let i = 0; ; i++) {
    const r = await run(['ping', '-c', '1', '-W', '1', B], { netns: NS_A, allowFail: true });
    if (r.exitCode === 0) break;
    if (i === 20) throw new Error(`no ping from ${NS_A} to ${B}: ${r.stdout}${r.stderr}`);
    await sleep(50);
  }
}

/** Both meters, started together at a common start time; `during` runs while they send. */
async function meterRun(t: TestContext, during: (startMs: number) => Promise<void> = async () => {}) {
  const stop = new AbortController();
  const meters: MeterProcess[] = [];
  t.after(async () => {
    stop.abort(); // kills any meter still running
    await Promise.allSettled(meters.map((m) => m.result));
  });
  const startMs = Math.round(nowMs() + 1500);
  const runId = randomInt(1, 2 ** 31);
  const common = { pps: PPS, durationMs: DURATION_MS, startAtMs: startMs, runId, drainMs: 500 };
  meters.push(await startMeter({ ...common, netns: NS_A, bind: `${A}:${PORT}`, peer: `${B}:${PORT}` }, { signal: stop.signal }));
  meters.push(await startMeter({ ...common, netns: NS_B, bind: `${B}:${PORT}`, peer: `${A}:${PORT}` }, { signal: stop.signal }));
  assert.ok(nowMs() < startMs, 'both meters listen before the start time');
  await during(startMs);
  const [ra, rb] = await Promise.all(meters.map((m) => m.result));
  return {
    startMs,
    a: ra!,
    b: rb!,
    analyze: (switches: Parameters<typeof analyze>[0]['switches'] = []): Analysis =>
      analyze({ runStartMs: startMs, directions: [{ name: 'a→b', sender: ra!, receiver: rb! }, { name: 'b→a', sender: rb!, receiver: ra! }], switches }),
  };
}

test('meter: 1000 pps both ways over a veth, nothing lost', { skip: notRoot }, async (t) => {
  await topology(t);
  const r = await meterRun(t);
  const got = r.analyze();
  t.diagnostic(`traffic ${JSON.stringify(got.traffic)}; send lag max ${r.a.tx.lag_max_ms} / ${r.b.tx.lag_max_ms} ms`);
  for (const m of [r.a, r.b]) {
    assert.equal(m.stopped, 'done');
    assert.equal(m.tx.sent, (PPS * DURATION_MS) / 1000);
    assert.equal(m.rx.stray, 0);
  }
  assert.deepEqual({ ...got.traffic, max_gap_ms: 0 }, { pps: PPS, sent: 4000, received: 4000, lost: 0, duplicates: 0, max_gap_ms: 0 });
  // 1 ms spacing; Node's timers and a busy machine stretch it now and then.
  assert.ok(got.traffic.max_gap_ms >= 1 && got.traffic.max_gap_ms < 100, `max gap ${got.traffic.max_gap_ms} ms`);
});

test('meter: a 100 ms drop mid-run is counted and given to the switch there', { skip: notRoot }, async (t) => {
  await topology(t);
  t.after(() => run(['nft', 'delete', 'table', 'inet', DROP_TABLE], { netns: NS_B, allowFail: true }));
  const drop = { insStart: 0, insDone: 0, delStart: 0, delDone: 0 };
  const r = await meterRun(t, async (startMs) => {
    await sleep(startMs + DURATION_MS / 2 - nowMs());
    drop.insStart = nowMs();
    await run(['nft', '-f', '-'], {
      netns: NS_B,
      input: `table inet ${DROP_TABLE} {
        chain in { type filter hook input priority 0; policy accept; udp dport ${PORT} drop; }
        chain out { type filter hook output priority 0; policy accept; udp dport ${PORT} drop; }
      }\n`,
    });
    drop.insDone = nowMs();
    await sleep(100);
    drop.delStart = nowMs();
    await run(['nft', 'delete', 'table', 'inet', DROP_TABLE], { netns: NS_B });
    drop.delDone = nowMs();
  });
  const fake = { at_ms: drop.insDone - r.startMs, from: 'wlan0', to: 'wlan1', reason: 'lab' };
  const got = r.analyze([fake]);
  t.diagnostic(`drop ${JSON.stringify(drop)}; traffic ${JSON.stringify(got.traffic)}; switch ${JSON.stringify(got.switches[0])}; lost runs ${JSON.stringify(got.directions.map((d) => d.lost_runs))}`);

  // The rule was surely in place over [insDone, delStart] and surely not outside [insStart, delDone].
  const least = Math.floor(((drop.delStart - drop.insDone) * PPS) / 1000) - 2;
  const most = Math.ceil(((drop.delDone - drop.insStart) * PPS) / 1000) + 2;
  for (const d of got.directions) {
    assert.ok(d.lost >= least && d.lost <= most, `${d.name}: lost ${d.lost}, want ${least}..${most}`);
    assert.equal(d.lost_runs.length, 1, `${d.name}: one burst`);
    assert.equal(d.sent, (PPS * DURATION_MS) / 1000);
  }
  assert.equal(got.traffic.sent, 4000);
  assert.equal(got.traffic.received + got.traffic.lost, 4000);
  assert.equal(got.unattributed_lost, 0, 'all loss falls at the switch');
  assert.equal(got.switches[0]!.lost, got.traffic.lost);
  const gap = got.switches[0]!.gap_ms;
  assert.ok(gap >= Math.floor(drop.delStart - drop.insDone) && gap <= Math.ceil(drop.delDone - drop.insStart) + 50, `gap ${gap} ms`);
  assert.equal(got.traffic.max_gap_ms, gap);
});

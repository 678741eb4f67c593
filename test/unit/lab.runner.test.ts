// The lab runner's pure parts: how many APs a radio may join at time 0 (what the set-up waits for before the clock);
// and how the teardown tells a process that exited from one still running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario, parseScenario } from '../../shared/scenario.js';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { joinableAtStart } from '../../lab/runner.js';
import { isRunning } from '../../lab/topology.js';
import { scenarioPath } from '../lab/lab.helpers.js';

const base = { name: 'x', duration: '10s', traffic: { pps: 10 } };
const sc = (aps: Array<[string, number]>, connectList?: unknown[]) =>
  parseScenario({ ...base, aps: aps.map(([ssid, dbm]) => ({ ssid, signal: [[0, dbm], [5000, -40]] })), ...(connectList ? { agent: { connect_list: connectList } } : {}) }, 'test');

test('joinableAtStart: an AP weaker at time 0 than its entry\'s min_signal is not waited for; one without an entry or a minimum is', () => {
  const cases: Array<{ name: string; given: ReturnType<typeof sc>; want: number }> = [
    { name: 'both above their minimum', given: sc([['a', -50], ['b', -70]], [{ ssid: 'a', min_signal: -80 }, { ssid: 'b', min_signal: -78 }]), want: 2 },
    { name: 'one below (later above: only time 0 counts)', given: sc([['a', -50], ['b', -84]], [{ ssid: 'a', min_signal: -80 }, { ssid: 'b', min_signal: -78 }]), want: 1 },
    { name: 'exactly at the minimum', given: sc([['a', -78]], [{ ssid: 'a', min_signal: -78 }]), want: 1 },
    { name: 'no entry for it', given: sc([['a', -50], ['b', -95]], [{ ssid: 'a', min_signal: -80 }]), want: 2 },
    { name: 'an entry without min_signal', given: sc([['a', -95]], [{ ssid: 'a' }]), want: 1 },
    { name: 'no connect list', given: sc([['a', -95], ['b', -95]]), want: 2 },
    { name: 'no APs (LTE only)', given: parseScenario({ ...base, lte: { signal: [[0, -95]] } }, 'test'), want: 0 },
  ];
  for (const c of cases) assert.equal(joinableAtStart(c.given), c.want, c.name);
});

test('joinableAtStart on the suite\'s scenarios: selection-drive\'s street AP starts below its minimum, the others do not', async () => {
  assert.equal(joinableAtStart(await loadScenario(scenarioPath('selection-drive.yaml'))), 1);
  assert.equal(joinableAtStart(await loadScenario(scenarioPath('failover-carrier.yaml'))), 2);
  assert.equal(joinableAtStart(await loadScenario(scenarioPath('selection-lte.yaml'))), 1);
});

test('isRunning: a live process yes; its zombie child (exited, not yet waited for) no, though signal 0 still reaches it', async () => {
  // The child exits half a second after its parent has become `sleep`, which never waits: a zombie until the parent
  // ends. (Exiting before the exec, bash would reap it: CI's first try of this test, on a loaded machine.)
  const parent = spawn('bash', ['-c', 'sleep 0.5 & echo $!; exec sleep 3'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const zombie = Number(await new Promise<string>((res) => parent.stdout.once('data', (b: Buffer) => res(b.toString()))));
  const state = async () => (await readFile(`/proc/${zombie}/stat`, 'utf8').catch(() => '')).replace(/^.*\) /s, '')[0];
  for (let i = 0; i < 250 && (await state()) !== 'Z'; i++) await new Promise((res) => setTimeout(res, 10));
  assert.equal(await state(), 'Z', 'a zombie now');
  assert.doesNotThrow(() => process.kill(zombie, 0), 'a zombie takes signal 0: why teardown waited its whole 200 ms for them');
  assert.equal(await isRunning(zombie), false);
  assert.equal(await isRunning(parent.pid!), true);
  assert.equal(await isRunning(process.pid), true);
  parent.kill();
  await new Promise((res) => parent.once('exit', res));
  assert.equal(await isRunning(parent.pid!), false, 'reaped by us: gone');
});

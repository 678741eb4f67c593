// Restart or stop for good, as the agent unit's ExecStopPost tells them apart: a table of what systemd says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stopVerdict, type StopFacts } from '../../agent/start/stop.verdict.js';

const unit = 'roamlink-agent.service';
const job = (type: string, u = unit) => `4711 ${u} ${type} running\n`;

test('stopVerdict: the data plane goes only with a stop for good', () => {
  const table: Array<{ name: string; given: Omit<StopFacts, 'unit'>; down: boolean }> = [
    { name: 'systemctl stop', given: { serviceResult: 'success', exitStatus: '0', jobs: job('stop') }, down: true },
    { name: 'disable --now, uninstall (a stop job as well)', given: { serviceResult: 'success', exitStatus: '0', jobs: job('stop') + job('start', 'other.service') }, down: true },
    { name: 'systemctl restart', given: { serviceResult: 'success', exitStatus: '0', jobs: job('restart') }, down: false },
    { name: "an upgrade's try-restart", given: { serviceResult: 'success', exitStatus: '0', jobs: job('try-restart') }, down: false },
    { name: 'a crash (SIGKILL, segfault): Restart=always follows', given: { serviceResult: 'signal', exitStatus: 'KILL', jobs: '' }, down: false },
    { name: 'the watchdog killed a hung agent', given: { serviceResult: 'watchdog', exitStatus: 'ABRT', jobs: '' }, down: false },
    { name: 'a bad config (exit 2): no restart follows', given: { serviceResult: 'exit-code', exitStatus: '2', jobs: '' }, down: true },
    { name: 'run by hand, outside systemd', given: { jobs: '' }, down: true },
    { name: "another unit's restart is not ours", given: { serviceResult: 'success', exitStatus: '0', jobs: job('restart', 'roamlink-hq.service') }, down: true },
  ];
  for (const { name, given, down } of table) {
    const v = stopVerdict({ ...given, unit });
    assert.equal(v.down, down, `${name}: ${v.why}`);
    assert.ok(v.why.length > 0, name);
  }
});

// Selection in the lab (issue 3, items 3-4): the standby radio pre-associates (static address for its SSID) and the
// tunnel moves to it by signal before the depot AP is gone; LTE is the costed fallback, left as soon as Wi-Fi is good.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from '../../shared/scenario.js';
import { runScenario } from '../../lab/runner.js';
import { labLeftovers, scenarioPath, switchLines } from './lab.helpers.js';

test('a drive out of the depot: one switch by signal to the pre-associated street AP (static address), nothing lost', { timeout: 120_000 }, async () => {
  const log: string[] = [];
  const report = await runScenario(await loadScenario(scenarioPath('selection-drive.yaml')), { agentLog: log });
  const detail = JSON.stringify({ expect: report.expect, traffic: report.traffic, switches: report.switches }, null, 1);
  assert.equal(report.switches.length, 1, detail);
  const sw = report.switches[0]!;
  assert.deepEqual([sw.from, sw.to], ['wlan0', 'wlan1'], detail);
  assert.ok(sw.reason === 'signal' || sw.reason === 'better', detail);
  // Before the depot is lost (it leaves the connect-list's minimum, -80 dBm, at about 15.5 s).
  assert.ok(sw.at_ms > 10_000 && sw.at_ms < 15_500, detail);
  assert.equal(report.traffic.lost, 0, detail);
  assert.equal(report.ok, true, detail);
  const line = switchLines(log).find((l) => l.to === 'wlan1')!;
  const wlan1 = line.why!.candidates.find((c) => c.name === 'wlan1')!;
  assert.equal(wlan1.ap?.ssid, 'street-7');
  // The static address of the connect-list entry, not a DHCP lease (the AP's DHCP range is .100-.199).
  const phases = log.filter((l) => l.includes('"uplink":"wlan1"') && l.includes('"event":"uplink.phase"')).map((l) => JSON.parse(l) as { address: string | null });
  assert.ok(phases.some((p) => p.address === '192.168.11.50'), 'wlan1 took 192.168.11.50');
  // The depot radio leaves its AP once the connect-list refuses it.
  assert.ok(log.some((l) => l.includes('"uplink":"wlan0"') && l.includes('"state":"scanning"') && l.includes('"ap":null')), 'wlan0 left the depot AP');
  assert.deepEqual(await labLeftovers(), []);
});

test('LTE as the costed fallback: taken while the only AP is below the threshold, left once it is good again; nothing lost', { timeout: 120_000 }, async () => {
  const log: string[] = [];
  const report = await runScenario(await loadScenario(scenarioPath('selection-lte.yaml')), { agentLog: log });
  const detail = JSON.stringify({ expect: report.expect, traffic: report.traffic, switches: report.switches }, null, 1);
  assert.deepEqual(report.switches.map((s) => [s.from, s.to, s.reason]), [['wlan0', 'wwan0', 'lte-fallback'], ['wwan0', 'wlan0', 'leave-lte']], detail);
  // Fallback after the AP has been below -75 dBm for below_ms (it crosses at ~4.7 s); leave once it is at -70 dBm (~15.1 s).
  assert.ok(report.switches[0]!.at_ms > 5000 && report.switches[0]!.at_ms < 7000, detail);
  assert.ok(report.switches[1]!.at_ms > 14_500 && report.switches[1]!.at_ms < 16_500, detail);
  assert.equal(report.traffic.lost, 0, detail);
  assert.equal(report.ok, true, detail);
  const texts = switchLines(log).map((l) => l.why?.text ?? '');
  assert.ok(texts.some((t) => /below -75 dBm for \d+ ms; no other Wi-Fi at or above -75 dBm → wwan0/.test(t)), texts.join('\n'));
  assert.deepEqual(await labLeftovers(), []);
});

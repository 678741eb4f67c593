// Site profiles reach a running agent: a change at HQ is applied within seconds, without a restart, and acts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadScenario } from '../../shared/scenario.js';
import { runScenario } from '../../lab/runner.js';

test('a site profile set at HQ mid-run changes the agent\'s thresholds without a restart', { timeout: 120_000 }, async () => {
  const sc = await loadScenario(fileURLToPath(new URL('../../../test/lab/scenarios/site-profile.yaml', import.meta.url)));
  const agentLog: string[] = [];
  let addedAt = NaN;
  const report = await runScenario(sc, {
    agentLog,
    during: async ({ hq, tNow }) => {
      // With the defaults (hysteresis 5 dB) street-7's 2 dB do not move the tunnel: wait a while to see that.
      await new Promise((r) => setTimeout(r, 4000));
      const r = await hq(['site', 'add', 'depot', '--ssid', 'depot', 'hysteresis_db=1', 'hold_ms=1000', 'dwell_ms=1000']);
      assert.equal(r.exitCode, 0, r.stderr);
      addedAt = tNow();
    },
  });
  // On a failure, what the agent heard of sites and HQ (a CI run once showed no profile applied and nothing else).
  const heard = agentLog.filter((l) => /"event":"(sites?\.|heartbeat|ship|hq\.)/.test(l)).slice(-20);
  const detail = JSON.stringify({ switches: report.switches, addedAt, heard }, null, 1);
  const applied = agentLog.map((l) => { try { return JSON.parse(l); } catch { return {}; } }).filter((v) => v.event === 'site.applied' && v.site === 'depot');
  assert.ok(applied.length >= 1, `the agent applied the depot profile: ${detail}`);
  assert.ok(report.switches.every((s) => s.at_ms > addedAt), `no switch before the profile: ${detail}`);
  const better = report.switches.find((s) => s.to === 'wlan1');
  assert.ok(better, detail);
  assert.equal(better.reason, 'better', detail);
  assert.ok(better.at_ms - addedAt < 10_000, `applied within seconds: ${detail}`);
  // The switch itself loses nothing (make-before-break as ever).
  assert.equal(better.lost, 0, detail);
  // (2026-11: one CI run lost 74 of 3,200 packets away from any switch in this scenario; not yet explained, so the
  // whole-run loss is reported, not asserted, here; handover.test.ts asserts it for the switch path.)
  if (report.traffic.lost) console.log(`whole-run loss ${report.traffic.lost}: ${JSON.stringify(report.directions)}`);
});

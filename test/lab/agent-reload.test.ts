// The agent reloads its config under 1000 packets/s each way: SIGHUP with a new policy and connect-list puts them into
// effect (`roamlink status` shows them), a broken file (`roamlink agent reload`: exit 2, the field named) and a
// restart-only change (SIGHUP: refused, named in the log) keep the running config; nothing lost, no switch, still running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadScenario } from '../../shared/scenario.js';
import { runScenario } from '../../lab/runner.js';
import { labLeftovers, scenarioPath } from './lab.helpers.js';

type Obj = Record<string, any>;
const reloads = (log: string[]) => log.flatMap((l) => {
  try {
    const v = JSON.parse(l) as Obj;
    return v.event === 'config.reload' ? [v] : [];
  } catch {
    return [];
  }
});

/** Polls (bounded) until `f` holds. */
async function until(f: () => boolean, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(20);
  }
}

test('agent reload under 1000 pps each way: new policy and connect-list live, a broken file and a restart-only change refused; 0 lost, no switch', { timeout: 90_000 }, async () => {
  const log: string[] = [];
  const seen: Obj = {};
  const report = await runScenario(await loadScenario(scenarioPath('agent-reload.yaml')), {
    agentLog: log,
    during: async ({ agent, tNow }) => {
      const original = JSON.parse(await readFile(agent.config, 'utf8')) as Obj;
      const status = async () => {
        const r = await agent.vehicle(['status', '--socket', agent.socket, '--json']);
        assert.equal(r.exitCode, 0, r.stderr);
        return JSON.parse(r.stdout) as Obj;
      };
      seen.before = await status();
      await until(() => tNow() >= 2000, 5000, 'scenario t=2s');

      // 1. SIGHUP with a new policy and connect-list.
      const changed = structuredClone(original);
      changed.policy = { hysteresis_db: 9, dwell_ms: 7000 };
      changed.connect_list = [...original.connect_list, { ssid: 'yard', min_signal: -70 }];
      await writeFile(agent.config, JSON.stringify(changed));
      agent.signal('SIGHUP');
      await until(() => reloads(log).length >= 1, 5000, 'the SIGHUP reload logged');
      seen.after = await status();
      seen.human = (await agent.vehicle(['status', '--socket', agent.socket])).stdout;

      // 2. A broken file through `roamlink agent reload` (what the unit's ExecReload runs).
      await until(() => tNow() >= 4000, 5000, 'scenario t=4s');
      const broken = structuredClone(changed);
      broken.policy.hysteresis_db = 99;
      await writeFile(agent.config, JSON.stringify(broken));
      seen.brokenCli = await agent.vehicle(['agent', 'reload', '--config', agent.config, '--socket', agent.socket]);
      seen.afterBroken = await status();

      // 3. A field that cannot change live (the tunnel's interface), by SIGHUP.
      await until(() => tNow() >= 6000, 5000, 'scenario t=6s');
      const restartOnly = structuredClone(changed);
      restartOnly.wireguard.interface = 'rl-other0';
      await writeFile(agent.config, JSON.stringify(restartOnly));
      agent.signal('SIGHUP');
      await until(() => reloads(log).length >= 3, 5000, 'the third reload logged');
      seen.afterRefused = await status();
      seen.running = agent.running();
      // The file as the agent runs it, for the lab's own stop.
      await writeFile(agent.config, JSON.stringify(changed));
    },
  });
  const detail = JSON.stringify({ expect: report.expect, traffic: report.traffic, switches: report.switches, faults: report.faults, seen: { ...seen, before: undefined } }, null, 1);
  const r = reloads(log);
  assert.deepEqual(r.map((e) => [e.source, e.result]), [['SIGHUP', 'applied'], ['control', 'invalid'], ['SIGHUP', 'refused']], detail);
  assert.deepEqual(r[0]!.changed, ['connect_list[2]', 'policy.dwell_ms', 'policy.hysteresis_db'], detail);
  assert.deepEqual(r[2]!.refused, ['wireguard.interface'], detail);
  assert.match(String(r[2]!.msg), /wireguard\.interface cannot change without a restart/);

  // In effect: the arbiter's policy and the config's connect-list, as `roamlink status` shows them.
  assert.equal(seen.before.policy.hysteresis_db, 5, detail);
  assert.equal(seen.after.policy.hysteresis_db, 9, detail);
  assert.equal(seen.after.policy.dwell_ms, 7000, detail);
  assert.equal(seen.after.config.reloads, 1, detail);
  assert.match(seen.after.config.connect_list[2], /"yard" ≥-70dBm/, detail);
  assert.match(seen.human, /reloads: 1/, seen.human);
  assert.match(seen.human, /"yard"/, seen.human);

  // Refused: exit 2 naming the field; the running config stays.
  assert.equal(seen.brokenCli.exitCode, 2, JSON.stringify(seen.brokenCli));
  assert.match(seen.brokenCli.stdout, /policy\.hysteresis_db: must be ≤ 40 dB/, seen.brokenCli.stdout);
  for (const s of [seen.afterBroken, seen.afterRefused]) {
    assert.equal(s.policy.hysteresis_db, 9, detail);
    assert.equal(s.config.reloads, 1, detail);
  }
  assert.equal(seen.running, true, 'the agent runs on');

  assert.equal(report.traffic.lost, 0, detail);
  assert.deepEqual(report.switches, [], detail);
  assert.equal(report.ok, true, detail);
  assert.deepEqual(await labLeftovers(), []);
});

// Config reloads: the plan (which fields changed, which may change live) as tables; the reloader (a bad file or a
// restart-only field keeps the running config, named; one reload at a time); the agent's parts and its secret checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadAgentConfig, parseAgentConfig, type AgentConfig } from '../../shared/config/agent.js';
import { changedPaths, outcomeOf, planReload } from '../../shared/config/reload.plan.js';
import { createReloader } from '../../shared/config/reloader.js';
import { AGENT_LIVE_FIELDS, agentReloadParts, createAgentReloader } from '../../agent/reload/agent.reload.js';
import { configViewOf } from '../../agent/reload/config.view.js';
import { createLogger } from '../../shared/log.js';
import type { ConnectList } from '../../shared/config/connect-list.js';
import type { Policy } from '../../agent/policy/policy.js';

type Obj = Record<string, any>;
const HQ_PUB = 'vBwEETu5b+Q42o8jdYbZf9+mTrdGdXZWs4hvdqy4WX4=';
const PSK = 'hunter2-very-secret';
const base = (): Obj => ({
  vehicle: 'bus-7',
  wireguard: { interface: 'rl-wg0', private_key_file: '/etc/roamlink/agent.key', address: '10.99.0.2' },
  concentrator: { endpoint: '198.51.100.7:51820', public_key: HQ_PUB, tunnel_address: '10.99.0.1' },
  uplinks: [{ name: 'wlan0', kind: 'wifi' }, { name: 'wwan0', kind: 'lte' }],
  connect_list: [{ ssid: 'depot', min_signal: -80 }, { ssid: 'street-7', security: 'psk', psk: PSK }],
  policy: { hysteresis_db: 5 },
  modem: { device: '/dev/ttyUSB2', apn: 'internet', sms: { alert_numbers: ['+4915100000001'] } },
});

/** A log that keeps its lines (JSON), to assert on fields and on what never appears. */
function memLog() {
  const lines: string[] = [];
  const log = createLogger({ name: 'test', level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  return { log, lines, events: () => lines.map((l) => JSON.parse(l) as Obj) };
}

test('changedPaths: table', () => {
  const table: Array<{ name: string; a: unknown; b: unknown; want: string[] }> = [
    { name: 'equal', a: { x: 1, y: [1, { z: 'q' }] }, b: { x: 1, y: [1, { z: 'q' }] }, want: [] },
    { name: 'a leaf', a: { p: { h: 5, d: 1 } }, b: { p: { h: 6, d: 1 } }, want: ['p.h'] },
    { name: 'a field added and one removed', a: { p: { h: 5 } }, b: { p: { d: 1 } }, want: ['p.d', 'p.h'] },
    { name: 'an object appears', a: {}, b: { m: { s: 1 } }, want: ['m'] },
    { name: 'inside a list', a: { l: [{ s: 'a' }, { s: 'b' }] }, b: { l: [{ s: 'a' }, { s: 'c' }] }, want: ['l[1].s'] },
    { name: 'a list grows', a: { l: [1] }, b: { l: [1, 2, 3] }, want: ['l[1]', 'l[2]'] },
    { name: 'undefined and absent are the same', a: { x: undefined }, b: {}, want: [] },
    { name: 'a type change', a: { x: 'dhcp' }, b: { x: { static: 1 } }, want: ['x'] },
  ];
  for (const { name, a, b, want } of table) assert.deepEqual(changedPaths(a, b), want, name);
});

test('the agent plan: live fields are applied, anything else refuses the whole reload naming the field; values never in the answer', () => {
  const running = parseAgentConfig(base());
  const edit = (f: (c: Obj) => void): AgentConfig => {
    const c = base();
    f(c);
    return parseAgentConfig(c);
  };
  const table: Array<{ name: string; next: AgentConfig; result: string; changed: string[]; refused?: string[]; parts?: Partial<ReturnType<typeof agentReloadParts>> }> = [
    { name: 'nothing', next: edit(() => {}), result: 'unchanged', changed: [] },
    { name: 'a policy threshold', next: edit((c) => (c.policy.hysteresis_db = 8)), result: 'applied', changed: ['policy.hysteresis_db'], parts: { policy: true, connectList: false } },
    { name: 'a policy field from its default', next: edit((c) => (c.policy.dwell_ms = 9000)), result: 'applied', changed: ['policy.dwell_ms'], parts: { policy: true } },
    { name: 'a connect-list psk', next: edit((c) => (c.connect_list[1].psk = 'another-secret-pass')), result: 'applied', changed: ['connect_list[1].psk'], parts: { connectList: true, policy: false } },
    { name: 'a connect-list entry added', next: edit((c) => c.connect_list.push({ ssid: 'yard' })), result: 'applied', changed: ['connect_list[2]'], parts: { connectList: true } },
    { name: 'SMS alerts', next: edit((c) => (c.modem.sms.alerts = { on_lte_fallback: false })), result: 'applied', changed: ['modem.sms.alerts.on_lte_fallback'], parts: { modem: true } },
    { name: 'the log level', next: edit((c) => (c.log_level = 'debug')), result: 'applied', changed: ['log_level'], parts: { logLevel: true } },
    { name: 'the WireGuard key file', next: edit((c) => (c.wireguard.private_key_file = '/etc/roamlink/new.key')), result: 'refused', changed: ['wireguard.private_key_file'], refused: ['wireguard.private_key_file'] },
    { name: 'an interface name, with a policy change', next: edit((c) => { c.uplinks[0].name = 'wlan9'; c.policy.hysteresis_db = 8; }), result: 'refused', changed: ['policy.hysteresis_db', 'uplinks[0].name'], refused: ['uplinks[0].name'] },
    { name: 'the modem port', next: edit((c) => (c.modem.device = '/dev/ttyUSB3')), result: 'refused', changed: ['modem.device'], refused: ['modem.device'] },
    { name: 'the modem taken away', next: edit((c) => delete c.modem), result: 'refused', changed: ['modem'], refused: ['modem'] },
  ];
  for (const row of table) {
    const plan = planReload(running, row.next, AGENT_LIVE_FIELDS);
    const o = outcomeOf(plan, 'restart it');
    assert.equal(o.result, row.result, row.name);
    assert.deepEqual(plan.changed, row.changed, row.name);
    assert.deepEqual(plan.refused, row.refused ?? [], row.name);
    if (row.parts) for (const [k, v] of Object.entries(row.parts)) assert.equal(agentReloadParts(plan)[k as keyof ReturnType<typeof agentReloadParts>], v, `${row.name}: ${k}`);
    for (const f of row.refused ?? []) assert.match(o.message, new RegExp(f.replace(/[[\].]/g, '\\$&')), `${row.name}: names ${f}`);
    assert.ok(!o.message.includes(PSK) && !o.message.includes('another-secret-pass'), `${row.name}: no secret in ${o.message}`);
  }
});

test('the reloader: a broken file or a restart-only change keeps the running config (named, logged, no secret); a good one applies once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-reload-'));
  try {
    const file = join(dir, 'agent.yaml');
    const write = (c: Obj) => writeFileSync(file, stringify(c));
    write(base());
    const initial = await loadAgentConfig(file);
    const calls: string[] = [];
    const m = memLog();
    const r = createAgentReloader({
      initial, load: () => loadAgentConfig(file), log: m.log,
      targets: {
        policy: (p: Policy) => void calls.push(`policy hysteresis_db=${p.hysteresis_db}`),
        connectList: (l: ConnectList) => void calls.push(`connect-list ${l.map((e) => e.ssid).join(',')}`),
        modem: (mc) => void calls.push(`modem on_lte_fallback=${mc.sms?.alerts.on_lte_fallback}`),
        logLevel: (l) => void calls.push(`log ${l}`),
      },
    });

    assert.equal((await r.reload('SIGHUP')).result, 'unchanged');
    assert.deepEqual(calls, []);

    // Broken: a psk too short (the message names the field, never quotes the psk) and a bad policy value.
    const bad = base();
    bad.connect_list[1].psk = 'shhh7';
    bad.policy.hysteresis_db = 99;
    write(bad);
    let o = await r.reload('SIGHUP');
    assert.equal(o.ok, false);
    assert.equal(o.result, 'invalid');
    assert.match(o.message, /the running config stays/);
    assert.match(o.message, /connect_list\[1\]\.psk/);
    assert.match(o.message, /policy\.hysteresis_db: must be ≤ 40 dB/);
    assert.ok(!o.message.includes('shhh7'), o.message);
    assert.deepEqual(calls, [], 'nothing applied');
    assert.equal(r.running(), initial, 'the running config stays');

    // Not YAML at all.
    writeFileSync(file, 'vehicle: [unclosed\n');
    o = await r.reload('sms');
    assert.equal(o.result, 'invalid');
    assert.match(o.message, /agent\.yaml/);

    // A restart-only change with a live one: all refused, nothing applied.
    const mixed = base();
    mixed.wireguard.interface = 'rl-wg9';
    mixed.policy.hysteresis_db = 8;
    write(mixed);
    o = await r.reload('control');
    assert.equal(o.result, 'refused');
    assert.deepEqual(o.refused, ['wireguard.interface']);
    assert.match(o.message, /wireguard\.interface cannot change without a restart/);
    assert.deepEqual(calls, []);

    // Good: policy, connect-list, SMS alerts and the log level, applied once each, in one reload.
    const good = base();
    good.policy.hysteresis_db = 8;
    good.connect_list.push({ ssid: 'yard' });
    good.modem.sms.alerts = { on_lte_fallback: false };
    good.log_level = 'debug';
    write(good);
    o = await r.reload('SIGHUP');
    assert.equal(o.ok, true, o.message);
    assert.equal(o.result, 'applied');
    assert.deepEqual(calls, ['log debug', 'policy hysteresis_db=8', 'connect-list depot,street-7,yard', 'modem on_lte_fallback=false']);
    assert.equal(r.applied, 1);
    assert.equal(r.running().policy.hysteresis_db, 8);
    assert.deepEqual(configViewOf(r.running(), r.applied).connect_list.length, 3);
    assert.equal((await r.reload('SIGHUP')).result, 'unchanged', 'the file is now the running config');

    const ev = m.events().filter((e) => e.event === 'config.reload');
    assert.deepEqual(ev.map((e) => [e.source, e.result, e.level]), [
      ['SIGHUP', 'unchanged', 30], ['SIGHUP', 'invalid', 50], ['sms', 'invalid', 50], ['control', 'refused', 50], ['SIGHUP', 'applied', 30], ['SIGHUP', 'unchanged', 30],
    ]);
    assert.deepEqual(ev[3]!.refused, ['wireguard.interface']);
    assert.ok(!m.lines.join('\n').includes(PSK), 'the psk never reaches the log');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the reloader: an SMS secret file that cannot be read refuses the reload naming the field; reloads run one at a time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-reload-'));
  try {
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, stringify(base()));
    const initial = await loadAgentConfig(file);
    const applied: string[] = [];
    const r = createAgentReloader({
      initial, load: () => loadAgentConfig(file), log: memLog().log,
      targets: { policy: () => {}, connectList: () => {}, modem: () => void applied.push('modem'), logLevel: () => {} },
    });
    const next = base();
    next.modem.sms.command_numbers = ['+4915100000002'];
    next.modem.sms.secret_file = join(dir, 'missing.secret');
    writeFileSync(file, stringify(next));
    const o = await r.reload('SIGHUP');
    assert.equal(o.result, 'invalid');
    assert.match(o.message, /modem\.sms\.secret_file/);
    assert.deepEqual(applied, []);
    assert.equal(r.running(), initial);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // Serialized: the second load starts only once the first reload has applied.
  let inFlight = 0;
  let most = 0;
  let running = { v: 0 };
  const log = memLog().log;
  const r = createReloader<{ v: number }>({
    load: async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((res) => setTimeout(res, 5));
      inFlight--;
      return { v: running.v + 1 };
    },
    initial: running, live: ['v'], restart: 'restart', log,
    apply: (n) => void (running = n),
  });
  const outs = await Promise.all([r.reload('a'), r.reload('b'), r.reload('c')]);
  assert.equal(most, 1);
  assert.equal(running.v, 3);
  assert.deepEqual(outs.map((o) => o.result), ['applied', 'applied', 'applied']);

  // An apply that throws: answered as failed, not as applied.
  const f = createReloader<{ v: number }>({
    load: async () => ({ v: 2 }), initial: { v: 1 }, live: ['v'], restart: 'restart', log,
    apply: () => {
      throw new Error('boom');
    },
  });
  const o = await f.reload('x');
  assert.deepEqual([o.ok, o.result], [false, 'failed']);
  assert.equal(f.applied, 0);
});

test('SMS RELOAD answers what the reload did: applied fields by name, or the refusal naming the field', async () => {
  const { runSmsCommand } = await import('../../agent/sms/sms.handlers.js');
  const dir = mkdtempSync(join(tmpdir(), 'rl-reload-'));
  try {
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, stringify(base()));
    const r = createAgentReloader({
      initial: await loadAgentConfig(file), load: () => loadAgentConfig(file), log: memLog().log,
      targets: { policy: () => {}, connectList: () => {}, modem: () => {}, logLevel: () => {} },
    });
    const handlers = {
      status: async () => ({ vehicle: 'bus-7', uplinks: [], tunnel: { up: true } }),
      switchUplink: async () => ({ ok: true, message: '' }),
      callHome: async () => ({ ok: true, message: '' }),
      reload: async () => r.reload('sms'),
    };
    const next = base();
    next.policy.hysteresis_db = 7;
    writeFileSync(file, stringify(next));
    assert.deepEqual(await runSmsCommand({ verb: 'RELOAD' }, handlers), { ok: true, reply: 'RELOAD: applied policy.hysteresis_db' });
    next.wireguard.address = '10.99.0.3';
    writeFileSync(file, stringify(next));
    const refused = await runSmsCommand({ verb: 'RELOAD' }, handlers);
    assert.equal(refused.ok, false);
    assert.match(refused.reply, /^RELOAD: refused, nothing changed: wireguard\.address cannot change without a restart/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the HQ reload: the log level live; a listener, port or network changed is refused naming the field; a broken file keeps the config', async () => {
  const { createHqReloader } = await import('../../concentrator/hq.reload.js');
  const { loadHqConfig } = await import('../../shared/config/hq.js');
  const dir = mkdtempSync(join(tmpdir(), 'rl-hq-reload-'));
  try {
    const file = join(dir, 'hq.yaml');
    const hq = (): Obj => ({ interface: 'rl-hq0', private_key_file: join(dir, 'hq.key'), tunnel_network: '10.99.0.0/24', state_dir: dir, lan_subnets: ['192.168.10.0/24'] });
    writeFileSync(join(dir, 'hq.key'), `${Buffer.alloc(32, 7).toString('base64')}\n`, { mode: 0o600 });
    writeFileSync(file, stringify(hq()));
    const initial = await loadHqConfig(file);
    const m = memLog();
    const r = createHqReloader({ initial, load: () => loadHqConfig(file), log: m.log });
    writeFileSync(file, stringify({ ...hq(), log_level: 'debug' }));
    let o = await r.reload('SIGHUP');
    assert.deepEqual([o.result, o.changed], ['applied', ['log_level']], o.message);
    assert.equal(m.log.level, 'debug');
    writeFileSync(file, stringify({ ...hq(), log_level: 'debug', listen_port: 51900, lan_subnets: ['192.168.20.0/24'] }));
    o = await r.reload('SIGHUP');
    assert.equal(o.result, 'refused');
    assert.deepEqual(o.refused, ['lan_subnets[0]', 'listen_port']);
    writeFileSync(file, stringify({ ...hq(), log_level: 'loud' }));
    o = await r.reload('SIGHUP');
    assert.equal(o.result, 'invalid');
    assert.match(o.message, /log_level/);
    assert.equal(r.running().log_level, 'debug');
    assert.equal(m.log.level, 'debug');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

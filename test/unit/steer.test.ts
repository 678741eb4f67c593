// nft steering: the scripts as golden text, the driver's argv, and the real `nft` accepting them in a throwaway namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createSteerDriver, parseCopyCounters, steerSwitchScript, steerTableScript, type SteerSpec } from '../../agent/drivers/nft/steer.js';
import { run, start, type Runner, type RunOptions, type Started, type Starter } from '../../shared/exec.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../../test/fixtures/agent/${name}`, import.meta.url)), 'utf8');

const endpoint = { address: '198.51.100.7', port: 51820 };
const onWlan0: SteerSpec = { wgMark: 0x5200, endpoint, target: { mark: 0x5201, address: '192.168.50.23' } };
const onWwan0: SteerSpec = { wgMark: 0x5200, endpoint, target: { mark: 0x5203, address: '100.64.7.9' } };
const nowhere: SteerSpec = { wgMark: 0x5200, endpoint, target: null };

test('steer scripts: golden text', () => {
  const table: Array<{ name: string; got: string; want: string }> = [
    { name: 'table with a target', got: steerTableScript(onWlan0), want: 'steer-table.nft' },
    { name: 'table without a target', got: steerTableScript(nowhere), want: 'steer-table-no-target.nft' },
    { name: 'switch to wwan0', got: steerSwitchScript(onWwan0), want: 'steer-switch.nft' },
    { name: 'switch to nowhere', got: steerSwitchScript(nowhere), want: 'steer-switch-no-target.nft' },
  ];
  for (const { name, got, want } of table) assert.equal(got, fixture(want), name);
});

test('steer scripts with copies (redundancy): the copy marked for the standby, its source set and duplicated first, then the packet steered', () => {
  const copying: SteerSpec = { ...onWlan0, copy: { mark: 0x5202, address: '192.168.60.5', gateway: '192.168.60.1', device: 'wlan1' } };
  assert.equal(steerSwitchScript(copying), 'add counter ip roamlink copies_wlan1\nflush chain ip roamlink steer\n' +
    'add rule ip roamlink steer meta mark 0x5200 ip daddr 198.51.100.7 udp dport 51820 ' +
    'meta mark set 0x5202 ip saddr set 192.168.60.5 counter name "copies_wlan1" dup to 192.168.60.1 device "wlan1" meta mark set 0x5201 ip saddr set 192.168.50.23\n');
  assert.equal(steerSwitchScript({ ...copying, copy: null }), steerSwitchScript(onWlan0), 'no copies: the rule as before');
});

test('steer driver: one `nft -f -` per call, the script on stdin, in its namespace; remove tolerates a missing table', async () => {
  const calls: Array<{ argv: readonly string[]; opts: RunOptions | undefined }> = [];
  const runner: Runner = async (argv, opts) => {
    calls.push({ argv, opts });
    return { stdout: '', stderr: '', exitCode: 0 };
  };
  const d = createSteerDriver('rl-veh', runner);
  await d.init(nowhere);
  await d.steer(onWwan0);
  await d.remove();
  assert.deepEqual(calls.map((c) => c.argv), [['nft', '-f', '-'], ['nft', '-f', '-'], ['nft', '-f', '-']]);
  assert.deepEqual(calls.map((c) => c.opts?.netns), ['rl-veh', 'rl-veh', 'rl-veh']);
  assert.equal(calls[0]!.opts?.input, fixture('steer-table-no-target.nft'));
  assert.equal(calls[1]!.opts?.input, fixture('steer-switch.nft'));
  assert.equal(calls[2]!.opts?.input, 'table ip roamlink\ndelete table ip roamlink\n');
  assert.deepEqual(calls.map((c) => c.opts?.allowFail ?? false), [false, false, true]);
});

/** A model of started processes: what each was given, whether it was cancelled; `dies` makes the next one exit unused. */
function fakeStarter() {
  const procs: Array<{ argv: readonly string[]; netns: string | undefined; given: string | null; cancelled: boolean; dead: boolean }> = [];
  const starter: Starter = (argv, opts) => {
    const p = { argv, netns: opts?.netns, given: null as string | null, cancelled: false, dead: false };
    procs.push(p);
    const s: Started = {
      ready: () => p.given === null && !p.cancelled && !p.dead,
      async give(input) {
        p.given = input;
        return { stdout: '', stderr: '', exitCode: 0 };
      },
      cancel: () => void (p.cancelled = true),
    };
    return s;
  };
  return { starter, procs };
}

test('steer driver with a starter: a switch\'s script goes to an nft started before it (a spare, started again after each use); a dead spare is not used', async () => {
  const calls: string[] = [];
  const runner: Runner = async (_argv, opts) => {
    calls.push(opts?.input ?? '');
    return { stdout: '', stderr: '', exitCode: 0 };
  };
  const { starter, procs } = fakeStarter();
  const d = createSteerDriver('rl-veh', runner, starter);
  await d.init(nowhere);
  assert.deepEqual(calls, [fixture('steer-table-no-target.nft')], 'the table: nft run then');
  assert.equal(procs.length, 1, 'a spare once the table exists');
  assert.deepEqual(procs[0]!.argv, ['nft', '-f', '-']);
  assert.equal(procs[0]!.netns, 'rl-veh');
  await d.steer(onWwan0);
  assert.equal(procs[0]!.given, fixture('steer-switch.nft'), 'the switch given to the spare');
  assert.equal(calls.length, 1, 'no nft started for the switch');
  assert.equal(procs.length, 2, 'the next spare');
  procs[1]!.dead = true;
  await d.steer(onWlan0);
  assert.equal(procs[1]!.cancelled, true);
  assert.equal(calls.at(-1), steerSwitchScript(onWlan0), 'a dead spare: nft started then');
  assert.equal(procs.length, 3);
  await d.remove();
  assert.equal(procs[2]!.cancelled, true, 'remove ends the spare');
  assert.equal(procs.length, 3, 'and starts none');
  await d.steer(onWwan0);
  assert.equal(procs.length, 4);
  d.close();
  assert.equal(procs[3]!.cancelled, true, 'close ends the spare');
  const aborted = new AbortController();
  aborted.abort();
  await d.steer(onWlan0, aborted.signal).catch(() => {});
  assert.equal(procs.length, 4, 'no spare started for an agent that is stopping');
});

const isRoot = process.getuid?.() === 0;

test('nft accepts the scripts (check mode, then for real, in a throwaway namespace)', { skip: !isRoot && 'needs root' }, async (t) => {
  const ns = `rlt-steer-${process.pid}`;
  await run(['ip', 'netns', 'add', ns]);
  t.after(async () => {
    await run(['ip', 'netns', 'del', ns], { allowFail: true });
  });
  const check = (script: string) => run(['nft', '-c', '-f', '-'], { netns: ns, input: script });

  // An empty ruleset: the table script is accepted with and without a target, and checking changes nothing.
  await check(steerTableScript(onWlan0));
  await check(steerTableScript(nowhere));
  assert.equal((await run(['nft', 'list', 'ruleset'], { netns: ns })).stdout.trim(), '');

  // The switch script needs the table: the driver creates it (twice: init is idempotent), then a switch is checked.
  const d = createSteerDriver(ns);
  await d.init(nowhere);
  await d.init(onWlan0);
  await check(steerSwitchScript(onWwan0));
  await check(steerSwitchScript(nowhere));

  // Applied: the chain holds exactly the new rule (nft prints marks zero-padded).
  await d.steer(onWwan0);
  await d.steer(onWwan0);
  const listed = (await run(['nft', 'list', 'chain', 'ip', 'roamlink', 'steer'], { netns: ns })).stdout;
  const rules = listed.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('meta mark'));
  assert.deepEqual(rules, ['meta mark 0x00005200 ip daddr 198.51.100.7 udp dport 51820 meta mark set 0x00005203 ip saddr set 100.64.7.9']);
  assert.match(listed, /type route hook output priority mangle; policy accept;/);
  // With copies (nft's dup): accepted, and read back as the steering it is (the last mark and source set win).
  const copying: SteerSpec = { ...onWwan0, copy: { mark: 0x5201, address: '192.168.50.23', gateway: '192.168.50.1', device: 'lo' } };
  await d.steer(copying);
  assert.deepEqual((await d.read())?.rule, { wgMark: 0x5200, endpoint, target: onWwan0.target });
  await d.steer(copying);
  const counters = parseCopyCounters((await run(['nft', '-j', 'list', 'counters', 'table', 'ip', 'roamlink'], { netns: ns })).stdout);
  assert.deepEqual(counters, { lo: { packets: 0, bytes: 0 } }, 'the copies\' counter, kept across rule replacements');
  await d.steer(onWwan0);

  await d.remove();
  await d.remove();
  assert.equal((await run(['nft', 'list', 'ruleset'], { netns: ns })).stdout.trim(), '');

  // With spares (the agent's way): the switches go to nft processes started before them; a bad script is an error.
  const w = createSteerDriver(ns, run, start);
  await w.init(nowhere);
  await w.steer(onWlan0);
  await w.steer(onWwan0);
  assert.deepEqual((await w.read())?.rule, { wgMark: 0x5200, endpoint, target: onWwan0.target });
  const bad = start(['nft', '-f', '-'], { netns: ns });
  await assert.rejects(bad.give('flush chain ip nosuch steer\n'), /nft -f -/);
  const unused = start(['nft', '-f', '-'], { netns: ns });
  assert.equal(unused.ready(), true);
  unused.cancel();
  assert.equal(unused.ready(), false);
  w.close();
  await w.remove();
  assert.equal((await run(['nft', 'list', 'ruleset'], { netns: ns })).stdout.trim(), '');
});

// `roamlink lab run` as an operator runs it: bad scenarios exit 2 naming the field; Ctrl-C tears the lab down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { readdir } from 'node:fs/promises';
import { run } from '../../shared/exec.js';

const ROAMLINK = fileURLToPath(new URL('../../../bin/roamlink', import.meta.url));
const here = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

async function namespacesOf(pid: number): Promise<string[]> {
  const r = await run(['ip', 'netns', 'list'], { allowFail: true });
  return r.stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => new RegExp(`^rl${pid}[a-z]-`).test(n));
}

async function wireguardGoOf(pid: number): Promise<string[]> {
  const r = await run(['pgrep', '-a', '-x', 'wireguard-go'], { allowFail: true });
  return r.stdout.split('\n').filter((l) => new RegExp(`rl${pid}[a-z][vh]\\b`).test(l));
}

test('a scenario with a mistake: exit 2 and the field named, nothing built', async () => {
  for (const [file, field] of [['bad-bssid.yaml', 'aps[0].bssid'], ['unknown-fault.yaml', 'faults[0]'], ['positive-dbm.yaml', 'signal']] as const) {
    const r = await execa(process.execPath, [ROAMLINK, 'lab', 'run', here(`test/scenarios/invalid/${file}`)], { reject: false });
    assert.equal(r.exitCode, 2, `${file}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(field.replace(/[[\]]/g, '\\$&')), file);
  }
});

test('Ctrl-C in the middle of a run tears everything down', { timeout: 90_000 }, async () => {
  const child = execa(process.execPath, [ROAMLINK, 'lab', 'run', here('test/lab/scenarios/dozen-switches.yaml')], { reject: false, all: true });
  let out = '';
  let exited = false;
  child.all!.on('data', (b: Buffer) => (out += b.toString()));
  void child.then(() => (exited = true));
  // Wait until traffic runs (the lab, both daemons and the meters exist), then interrupt.
  const until = Date.now() + 60_000;
  while (!out.includes('== traffic:') && !exited && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
  assert.ok(out.includes('== traffic:'), `the run got going: ${out}`);
  assert.ok((await namespacesOf(child.pid!)).length > 0, 'namespaces exist while it runs');
  child.kill('SIGINT');
  const r = await child;
  assert.notEqual(r.exitCode, 0, 'an interrupted run is not a pass');
  assert.match(out, /interrupted: tearing the lab down/);
  assert.deepEqual(await namespacesOf(child.pid!), []);
  assert.deepEqual(await wireguardGoOf(child.pid!), []);
  const socks = (await readdir('/run/wireguard').catch(() => [] as string[])).filter((s) => new RegExp(`^rl${child.pid}[a-z]`).test(s));
  assert.deepEqual(socks, []);
});

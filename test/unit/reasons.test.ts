// One list of switch reasons (shared/reasons.ts): the policy's rules, the wire schema, the log filter, the CLI help, the dashboard and the guide's table say the same words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REASONS, SWITCH_REASONS, isReason } from '../../shared/reasons.js';
import { switchEventSchema } from '../../shared/wire/switch-event.js';
import { parseLogParams } from '../../concentrator/admin/log-query.js';
import { loadDashboard } from '../../concentrator/dashboard/assets.js';
import { InputError } from '../../shared/errors.js';
import { ev } from './events.fixtures.test.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The reason words in the first column of the guide's reasons table (§7, the table headed `| reason |`). */
export function guideReasons(markdown: string): string[] {
  const lines = markdown.split('\n');
  const head = lines.findIndex((l) => /^\|\s*reason\s*\|/.test(l));
  assert.ok(head >= 0, 'the guide has a reasons table');
  const out: string[] = [];
  for (const l of lines.slice(head + 2)) {
    if (!l.startsWith('|')) break;
    const first = l.split('|')[1]!;
    for (const m of first.matchAll(/`([^`]+)`/g)) out.push(m[1]!);
  }
  return out;
}

test('the guide\'s reasons table lists exactly the reasons, in order', () => {
  const guide = readFileSync(join(ROOT, 'docs/operator-guide.md'), 'utf8');
  assert.deepEqual(guideReasons(guide), REASONS);
  // Words the code never sent are gone from the guide's examples too.
  for (const old of ['--reason carrier ', '`lte-leave`', '| `failed` |', '| `operator` |']) assert.ok(!guide.includes(old), `the guide still says ${old}`);
});

test('the guide table parser sees a difference (a reason missing, one renamed)', () => {
  const table = (words: string[]) => `x\n| reason | means | look at |\n|---|---|---|\n${words.map((w) => `| \`${w}\` | m | l |`).join('\n')}\n\nafter`;
  assert.deepEqual(guideReasons(table([...REASONS])), REASONS);
  assert.notDeepEqual(guideReasons(table(REASONS.slice(1))), REASONS);
  assert.notDeepEqual(guideReasons(table(REASONS.map((r) => (r === 'leave-lte' ? 'lte-leave' : r)))), REASONS);
});

test('the wire schema takes every reason and refuses any other word', () => {
  for (const r of REASONS) assert.equal(switchEventSchema.safeParse(ev(1, { reason: r })).success, true, r);
  for (const bad of ['carrier', 'failed', 'operator', 'lte-leave', 'far-end']) {
    const p = switchEventSchema.safeParse({ ...ev(1), reason: bad });
    assert.equal(p.success, false, bad);
    assert.match(p.error!.issues[0]!.message, /must be a reason: initial, carrier-loss/);
  }
});

test('the log filter takes exactly the reasons; an old word is refused naming the list', () => {
  for (const r of REASONS) assert.equal(parseLogParams({ reason: r }, 0).reason, r);
  assert.throws(() => parseLogParams({ reason: 'lte-leave' }, 0, (k) => `--${k}`), (e: unknown) =>
    e instanceof InputError && e.field === '--reason' && e.message.includes(REASONS.join(', ')));
  assert.equal(isReason('toString'), false, 'no inherited property is a reason');
});

test('`roamlink log --help` lists the reasons', async () => {
  const out = await new Promise<string>((resolve) => execFile('node', [join(ROOT, 'bin/roamlink'), 'log', '--help'], (_e, so) => resolve(so)));
  const help = out.replace(/\s+/g, ' ');
  assert.ok(help.includes(`only this reason: ${REASONS.join(', ')}`), help);
});

test('the dashboard imports its reasons from HQ (/reasons.js, built from the list) and shows them', async () => {
  const files = loadDashboard();
  const mod = files.get('/reasons.js');
  assert.ok(mod, 'HQ serves /reasons.js');
  const { REASONS: shown } = (await import(`data:text/javascript,${encodeURIComponent(mod.body.toString())}`)) as { REASONS: typeof SWITCH_REASONS };
  assert.deepEqual(shown, SWITCH_REASONS);
  const app = files.get('/app.js')!.body.toString();
  assert.match(app, /import \{ REASONS \} from '\.\/reasons\.js';/);
  assert.match(app, /Object\.entries\(REASONS\)/, 'the vehicle page lists every reason');
  // No reason word hard-coded in the page's script.
  for (const r of REASONS.filter((x) => x.includes('-'))) assert.ok(!app.includes(`'${r}'`), `app.js spells ${r} itself`);
});

// journald priorities from pino's levels (shared/log.ts): the table, the `<N>` prefix on lines that stay JSON, and
// the detection of a journal stream on stderr (JOURNAL_STREAM against fd 2), through a real child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, journalPriority, stderrIsJournal, withJournalPrefix } from '../../shared/log.js';

test('journalPriority: each pino level to its syslog priority', () => {
  const table: Array<[string, number, number]> = [
    ['trace', 10, 7], ['debug', 20, 7], ['info', 30, 6], ['warn', 40, 4], ['error', 50, 3], ['fatal', 60, 2],
  ];
  for (const [name, level, want] of table) assert.equal(journalPriority(level), want, name);
});

test('withJournalPrefix: pino lines get <N>; other text is left alone', () => {
  const table: Array<{ name: string; given: string; want: string }> = [
    { name: 'warn', given: '{"level":40,"time":1,"msg":"x"}\n', want: '<4>{"level":40,"time":1,"msg":"x"}\n' },
    { name: 'info', given: '{"level":30}\n', want: '<6>{"level":30}\n' },
    { name: 'fatal', given: '{"level":60,"msg":"level 40 in the text"}\n', want: '<2>{"level":60,"msg":"level 40 in the text"}\n' },
    { name: 'not pino', given: 'plain text\n', want: 'plain text\n' },
    { name: 'level not first', given: '{"msg":"x","level":50}\n', want: '{"msg":"x","level":50}\n' },
  ];
  for (const { name, given, want } of table) assert.equal(withJournalPrefix(given), want, name);
});

test('stderrIsJournal: JOURNAL_STREAM must name fd 2 itself (device and inode)', () => {
  const fd2 = { dev: 2049n, ino: 12345678901234567n };
  const table: Array<{ name: string; env: NodeJS.ProcessEnv; stat: typeof fd2 | null; want: boolean }> = [
    { name: 'the same stream', env: { JOURNAL_STREAM: '2049:12345678901234567' }, stat: fd2, want: true },
    { name: 'inherited, stderr redirected', env: { JOURNAL_STREAM: '2049:99' }, stat: fd2, want: false },
    { name: 'another device', env: { JOURNAL_STREAM: '2050:12345678901234567' }, stat: fd2, want: false },
    { name: 'not under systemd', env: {}, stat: fd2, want: false },
    { name: 'garbage', env: { JOURNAL_STREAM: 'x:y' }, stat: fd2, want: false },
    { name: 'no fd 2', env: { JOURNAL_STREAM: '2049:12345678901234567' }, stat: null, want: false },
  ];
  for (const { name, env, stat, want } of table) assert.equal(stderrIsJournal(env, stat), want, name);
});

test('createLogger({ journal: true }): every line prefixed with its priority, the rest of it JSON as before', () => {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
  const log = createLogger({ name: 't', level: 'trace', destination: sink, journal: true, time: () => 1 });
  log.trace('a'); log.debug('b'); log.info('c'); log.warn('d'); log.error('e'); log.fatal({ pin: '4711' }, 'f');
  assert.deepEqual(lines.map((l) => l.slice(0, 3)), ['<7>', '<7>', '<6>', '<4>', '<3>', '<2>']);
  const parsed = lines.map((l) => JSON.parse(l.slice(3)) as { level: number; msg: string; pin?: string });
  assert.deepEqual(parsed.map((p) => [p.level, p.msg]), [[10, 'a'], [20, 'b'], [30, 'c'], [40, 'd'], [50, 'e'], [60, 'f']]);
  assert.equal(parsed[5]!.pin, '[redacted]');
  const plain: string[] = [];
  const sink2 = new Writable({ write(chunk, _enc, done) { plain.push(String(chunk)); done(); } });
  createLogger({ name: 't', destination: sink2 }).warn('d');
  assert.match(plain[0]!, /^\{"level":40,/, 'no prefix unless asked (a given destination is not the journal)');
});

test('createLogger on stderr: prefixed when JOURNAL_STREAM names the process\'s stderr, plain when it names another stream', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-logj-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const mod = new URL('../../shared/log.js', import.meta.url).href;
  const script = `const { createLogger } = await import(${JSON.stringify(mod)}); const l = createLogger({ name: 'x' }); l.info('hello'); l.warn('careful');`;
  const runWith = (file: string, journalStream: (st: { dev: number; ino: number }) => string): string => {
    const fd = openSync(file, 'w');
    try {
      const st = statSync(file);
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', fd], env: { ...process.env, JOURNAL_STREAM: journalStream(st) } });
    } finally {
      closeSync(fd);
    }
    return readFileSync(file, 'utf8');
  };
  const journal = runWith(join(dir, 'a'), (st) => `${st.dev}:${st.ino}`).trim().split('\n');
  assert.deepEqual(journal.map((l) => l.slice(0, 3)), ['<6>', '<4>']);
  assert.equal((JSON.parse(journal[1]!.slice(3)) as { msg: string }).msg, 'careful');
  const other = runWith(join(dir, 'b'), (st) => `${st.dev}:${Number(st.ino) + 1}`).trim().split('\n');
  assert.deepEqual(other.map((l) => (JSON.parse(l) as { msg: string }).msg), ['hello', 'careful']);
});

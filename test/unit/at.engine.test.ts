// The AT engine against a scripted port and fake time: echo, URCs mid-reply, noise, timeouts, error finals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AtEngine, AtError, commandName, isUnsolicited, redactionOf, scrub, type Urc } from '../../agent/drivers/modem/at.engine.js';
import { FakePort } from '../../lab/modem/fakes.js';
import { SimClock } from '../../shared/clock.js';

function setup(opts: { echo?: boolean; timeoutMs?: number; graceMs?: number } = {}) {
  const port = new FakePort();
  const clock = new SimClock();
  const engine = new AtEngine(port, { clock, defaultTimeoutMs: opts.timeoutMs ?? 1000, lateReplyGraceMs: opts.graceMs ?? 500 });
  const urcs: Urc[] = [];
  const noise: string[] = [];
  engine.onUrc((u) => urcs.push(u));
  engine.onNoise((l) => noise.push(l));
  /** Answers each command with the text the script gives for it (echoed first when echo is on). */
  const answer = (script: Record<string, string>) => {
    port.onWrite = (data) => {
      const cmd = data.replace(/\r$/, '');
      const reply = script[cmd];
      if (reply === undefined) return;
      queueMicrotask(() => port.feed((opts.echo ? `${cmd}\r` : '') + reply));
    };
  };
  return { port, clock, engine, urcs, noise, answer };
}

const tick = () => new Promise((r) => setImmediate(r));

test('reply lines with echo off and on', async () => {
  for (const echo of [false, true]) {
    const { engine, answer } = setup({ echo });
    answer({ 'AT+CSQ': '\r\n+CSQ: 20,99\r\n\r\nOK\r\n', 'AT+CGMI': '\r\nhuawei\r\n\r\nOK\r\n' });
    assert.deepEqual(await engine.send('AT+CSQ'), { lines: ['+CSQ: 20,99'], final: 'OK' }, `echo ${echo}`);
    assert.deepEqual((await engine.send('AT+CGMI')).lines, ['huawei'], `echo ${echo}`);
  }
});

test('unsolicited lines in the middle of a reply go to listeners, never into the reply', async () => {
  const { engine, answer, urcs } = setup({ echo: true });
  answer({
    'AT+CSQ': '\r\n^RSSI: 18\r\n+CSQ: 20,99\r\n\r\n^HCSQ: "LTE",60,55,120,20\r\n\r\n+CMTI: "SM",3\r\nOK\r\n',
    'AT^HCSQ?': '\r\n^HCSQ: "LTE",61,56,121,21\r\n\r\nOK\r\n',
    // The URC form of +CREG comes before the reply form.
    'AT+CREG?': '\r\n+CREG: 1,"1A2B","01C3D4E5",7\r\n+CREG: 2,1,"1A2B","01C3D4E5",7\r\n\r\nOK\r\n',
    'AT+CEREG?': '\r\n+CEREG: 2,5,"00FF","0A0B0C0D",7\r\n\r\n+CEREG: 2\r\nOK\r\n',
  });
  assert.deepEqual((await engine.send('AT+CSQ')).lines, ['+CSQ: 20,99']);
  assert.deepEqual(urcs.map((u) => u.line), ['^RSSI: 18', '^HCSQ: "LTE",60,55,120,20', '+CMTI: "SM",3']);
  assert.deepEqual((await engine.send('AT^HCSQ?')).lines, ['^HCSQ: "LTE",61,56,121,21']);
  assert.deepEqual((await engine.send('AT+CREG?')).lines, ['+CREG: 2,1,"1A2B","01C3D4E5",7']);
  assert.equal(urcs.at(-1)!.line, '+CREG: 1,"1A2B","01C3D4E5",7');
  assert.deepEqual((await engine.send('AT+CEREG?')).lines, ['+CEREG: 2,5,"00FF","0A0B0C0D",7']);
  assert.equal(urcs.at(-1)!.line, '+CEREG: 2');
});

test('URCs between commands, two-line URCs, and lines cut anywhere', async () => {
  const { engine, port, urcs, noise } = setup();
  port.feed('\r\n+CREG: 5,"1A2B","01C3D4E5",7\r\n\r\nRING\r\n\r\n+CMT: ,24\r\n0791');
  port.feed('4497\r\n^BOOT:12345,0,0,0,75\r\n+XNEW: 1\r\nstray text\r\n');
  assert.deepEqual(urcs, [
    { line: '+CREG: 5,"1A2B","01C3D4E5",7' },
    { line: 'RING' },
    { line: '+CMT: ,24', next: '07914497' },
    { line: '^BOOT:12345,0,0,0,75' },
    { line: '+XNEW: 1' },
  ]);
  assert.deepEqual(noise, ['stray text']);
  // A reply fed one byte at a time.
  port.onWrite = () => {
    const text = '\r\n+COPS: 0,0,"Vodafone.de",7\r\n\r\nOK\r\n';
    queueMicrotask(() => { for (const ch of text) port.feed(ch); });
  };
  assert.deepEqual((await engine.send('AT+COPS?')).lines, ['+COPS: 0,0,"Vodafone.de",7']);
});

test('garbage bytes and stray final results are dropped', async () => {
  const { engine, port, answer, noise } = setup();
  port.feed(Buffer.from([0x00, 0xff, 0x8f, 0x92, 0x03, 0x0d, 0x0a]));
  port.feed('\r\nOK\r\n');
  answer({ 'AT+CGMM': '\x00\x00\r\n\x91\x92\x93\x94\r\nE3372\r\n\xff\r\nOK\r\n' });
  assert.deepEqual((await engine.send('AT+CGMM')).lines, ['E3372']);
  assert.equal(engine.stats.garbage, 2);
  assert.equal(engine.stats.stray, 1);
  assert.ok(noise.includes('OK'));
});

test('error final results reject with their kind and code', async () => {
  const { engine, answer } = setup();
  answer({
    'AT+FOO': '\r\nERROR\r\n',
    'AT+CPIN?': '\r\n+CME ERROR: 10\r\n',
    'AT+CMGR=9': '\r\n+CMS ERROR: 321\r\n',
    'ATD*99#': '\r\nNO CARRIER\r\n',
    'AT^BAR': '\r\nCOMMAND NOT SUPPORT\r\n',
    'AT+CME2': '\r\n+CME ERROR: SIM not inserted\r\n',
  });
  const cases: Array<[string, Partial<AtError>]> = [
    ['AT+FOO', { kind: 'error', final: 'ERROR' }],
    ['AT+CPIN?', { kind: 'cme', code: 10 }],
    ['AT+CMGR=9', { kind: 'cms', code: 321 }],
    ['ATD*99#', { kind: 'no-carrier' }],
    ['AT^BAR', { kind: 'error' }],
    ['AT+CME2', { kind: 'cme', code: undefined, final: '+CME ERROR: SIM not inserted' }],
  ];
  for (const [cmd, want] of cases) {
    await assert.rejects(engine.send(cmd), (e: unknown) => {
      assert.ok(e instanceof AtError, cmd);
      for (const [k, v] of Object.entries(want)) assert.equal((e as unknown as Record<string, unknown>)[k], v, `${cmd} ${k}`);
      return true;
    });
  }
});

test('commands are written one at a time, in order', async () => {
  const { engine, port } = setup();
  const a = engine.send('AT+CGMI');
  const b = engine.send('AT+CGMM');
  await tick();
  assert.deepEqual(port.written, ['AT+CGMI\r']);
  port.feed('\r\nhuawei\r\nOK\r\n');
  assert.deepEqual((await a).lines, ['huawei']);
  await tick();
  assert.deepEqual(port.written, ['AT+CGMI\r', 'AT+CGMM\r']);
  port.feed('\r\nE3372\r\nOK\r\n');
  assert.deepEqual((await b).lines, ['E3372']);
});

test('a timeout rejects; the late reply is swallowed, not taken for the next command', async () => {
  const { engine, port, clock } = setup({ timeoutMs: 1000, graceMs: 500 });
  const slow = engine.send('AT+COPS?');
  const next = engine.send('AT+CSQ');
  clock.advanceSync(999);
  await tick();
  assert.equal(port.written.length, 1);
  clock.advanceSync(1);
  await assert.rejects(slow, (e: unknown) => e instanceof AtError && e.kind === 'timeout');
  await tick();
  assert.equal(port.written.length, 1, 'held back during the grace period');
  port.feed('\r\n+COPS: 0,0,"late",7\r\n\r\nOK\r\n');
  await tick();
  assert.deepEqual(port.written, ['AT+COPS?\r', 'AT+CSQ\r']);
  port.feed('\r\n+CSQ: 9,99\r\nOK\r\n');
  assert.deepEqual((await next).lines, ['+CSQ: 9,99']);
  assert.equal(engine.stats.late, 1);
});

test('a modem that never answers: each command times out after its grace, the queue keeps moving', async () => {
  const { engine, port, clock } = setup({ timeoutMs: 1000, graceMs: 500 });
  const a = engine.send('AT');
  const b = engine.send('AT', { timeoutMs: 200 });
  clock.advanceSync(1000);
  await assert.rejects(a, /timeout/);
  clock.advanceSync(499);
  assert.equal(port.written.length, 1);
  clock.advanceSync(1);
  assert.equal(port.written.length, 2);
  clock.advanceSync(200);
  await assert.rejects(b, /timeout/);
  assert.equal(engine.stats.timeouts, 2);
});

test('abort: queued commands leave the queue, the one in flight fails at once', async () => {
  const { engine, port, clock } = setup();
  const ac1 = new AbortController();
  const ac2 = new AbortController();
  const a = engine.send('AT+CUSD=1,"*100#",15', { signal: ac1.signal });
  const b = engine.send('AT+CSQ', { signal: ac2.signal });
  ac2.abort();
  await assert.rejects(b, (e: unknown) => e instanceof AtError && e.kind === 'aborted');
  ac1.abort();
  await assert.rejects(a, (e: unknown) => e instanceof AtError && e.kind === 'aborted');
  const c = engine.send('AT');
  clock.advanceSync(500); // grace after the abort
  await tick();
  assert.deepEqual(port.written, ['AT+CUSD=1,"*100#",15\r', 'AT\r']);
  port.feed('OK\r\n');
  await c;
  await assert.rejects(engine.send('AT', { signal: AbortSignal.abort() }), /aborted/);
});

test('the port going away fails what is pending and what comes after, and tells listeners', async () => {
  const { engine, port } = setup();
  let gone = 0;
  engine.onClose(() => gone++);
  const a = engine.send('AT+CGMI');
  const b = engine.send('AT+CGMM');
  port.unplug(new Error('EIO'));
  await assert.rejects(a, (e: unknown) => e instanceof AtError && e.kind === 'closed');
  await assert.rejects(b, (e: unknown) => e instanceof AtError && e.kind === 'closed');
  await assert.rejects(engine.send('AT'), (e: unknown) => e instanceof AtError && e.kind === 'closed');
  assert.equal(gone, 1);
  assert.equal(engine.closed, true);
});

test('SMS prompt: payload and Ctrl-Z go after "> ", the echoed payload is dropped', async () => {
  const { engine, port } = setup();
  port.onWrite = (d) => {
    if (d === 'AT+CMGS=18\r') queueMicrotask(() => port.feed('AT+CMGS=18\r\r\n> '));
    if (d.endsWith('\x1a')) queueMicrotask(() => port.feed(`${d}\r\n+CMGS: 42\r\n\r\nOK\r\n`));
  };
  const r = await engine.send('AT+CMGS=18', { payload: '0011000B911234' });
  assert.deepEqual(r.lines, ['+CMGS: 42']);
  assert.deepEqual(port.written, ['AT+CMGS=18\r', '0011000B911234\x1a']);
});

test('a secret command is named without its argument in errors', async () => {
  const { engine, answer } = setup();
  answer({ 'AT+CPIN="1234"': '\r\n+CME ERROR: 16\r\n' });
  await assert.rejects(engine.send('AT+CPIN="1234"', { sensitive: true }), (e: unknown) => {
    assert.ok(e instanceof AtError);
    assert.equal(e.command, 'AT+CPIN=…');
    assert.ok(!e.message.includes('1234'));
    return true;
  });
});

test('a command known to carry a secret is redacted unmarked: in the log, the error, its reply lines and late noise', async () => {
  const port = new FakePort();
  const clock = new SimClock();
  const noise: string[] = [];
  const lines: string[] = [];
  const log = { debug: (o: object, m: string) => lines.push(JSON.stringify(o) + m), warn: (o: object, m: string) => lines.push(JSON.stringify(o) + m), error: () => undefined } as never;
  const logged = new AtEngine(port, { clock, defaultTimeoutMs: 1000, lateReplyGraceMs: 500, log });
  logged.onNoise((l) => noise.push(l));
  const cmd = 'AT+CGAUTH=1,2,"fleet","s3cr3t-pw"';
  const sent = logged.send(cmd);
  // The modem says something mentioning the password, then never finishes: a timeout.
  port.feed('\r\n+CGAUTH: 1,2,"fleet","s3cr3t-pw"\r\n');
  clock.advanceSync(1000);
  const err = await sent.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof AtError && err.kind === 'timeout');
  // A mangled echo of it after the timeout is noise, scrubbed.
  port.feed('\x01AT+CGAUTH=1,2,"fleet","s3cr3t-pw"\r\n');
  const texts = [...lines, err.message, JSON.stringify({ ...err }), ...noise];
  assert.ok(lines.some((l) => l.includes('AT+CGAUTH=…')), 'logged by name');
  assert.ok(noise.length > 0, 'the garbled echo was seen as noise');
  for (const t of texts) assert.ok(!t.includes('s3cr3t-pw') && !t.includes('fleet"'), t);
});

test('redaction table', () => {
  const table: Array<{ cmd: string; opts?: { sensitive?: boolean; secrets?: string[] }; display: string; secrets: string[] }> = [
    { cmd: 'AT+CPIN="1234"', display: 'AT+CPIN=…', secrets: ['1234'] },
    { cmd: 'AT+CPIN=1234', display: 'AT+CPIN=…', secrets: ['1234'] },
    { cmd: 'AT+CPIN?', display: 'AT+CPIN?', secrets: [] },
    { cmd: 'AT^NDISDUP=1,1,"apn","u","pw",2', display: 'AT^NDISDUP=…', secrets: ['apn', 'pw', 'u'] },
    { cmd: 'AT+CSQ', display: 'AT+CSQ', secrets: [] },
    { cmd: 'AT+XAUTH=1,"hunter2"', opts: { sensitive: true }, display: 'AT+XAUTH=…', secrets: ['hunter2'] },
    { cmd: 'AT+XFOO=hunter2', opts: { secrets: ['hunter2'] }, display: 'AT+XFOO=…', secrets: ['hunter2'] },
  ];
  for (const r of table) {
    const got = redactionOf(r.cmd, r.opts);
    assert.equal(got.display, r.display, r.cmd);
    assert.deepEqual([...got.secrets].sort(), r.secrets, r.cmd);
  }
  assert.equal(scrub('a pw b pwpw', ['pw']), 'a … b ……');
});

test('classification table', () => {
  const table: Array<{ name: string; line: string; pending?: string; urc: boolean }> = [
    { name: 'idle +CREG', line: '+CREG: 1', urc: true },
    { name: 'CREG reply', line: '+CREG: 2,1,"1A2B","01C3D4E5",7', pending: 'AT+CREG?', urc: false },
    { name: 'CREG URC during query', line: '+CREG: 1,"1A2B","01C3D4E5",7', pending: 'AT+CREG?', urc: true },
    { name: 'CREG URC during other', line: '+CREG: 2,1', pending: 'AT+CSQ', urc: true },
    { name: 'CGREG reply no loc', line: '+CGREG: 0,1', pending: 'AT+CGREG?', urc: false },
    { name: 'HCSQ reply', line: '^HCSQ: "LTE",1,2,3,4', pending: 'AT^HCSQ?', urc: false },
    { name: 'HCSQ urc', line: '^HCSQ: "LTE",1,2,3,4', pending: 'AT+CSQ', urc: true },
    { name: 'CPIN reply', line: '+CPIN: READY', pending: 'AT+CPIN?', urc: false },
    { name: 'CPIN urc', line: '+CPIN: READY', pending: 'AT+CGMI', urc: true },
    { name: 'CUSD always', line: '+CUSD: 0,"x",15', pending: 'AT+CUSD=1,"*100#",15', urc: true },
    { name: 'info line', line: 'E3372', pending: 'AT+CGMM', urc: false },
    { name: 'QIND', line: '+QIND: "csq",20,99', pending: 'AT+CSQ', urc: true },
  ];
  for (const c of table) assert.equal(isUnsolicited(c.line, c.pending), c.urc, c.name);
  assert.equal(commandName('AT^HCSQ?'), '^HCSQ');
  assert.equal(commandName('at+creg=2'), '+CREG');
  assert.equal(commandName('ATE0'), '');
});

test('a prompt that never comes: the command times out and ESC leaves text entry', async () => {
  const { engine, port, clock } = setup({ timeoutMs: 1000 });
  const p = engine.send('AT+CMGS=18', { payload: '00110000' });
  await tick();
  clock.advanceSync(1000);
  await assert.rejects(p, /timeout/);
  assert.deepEqual(port.written, ['AT+CMGS=18\r', '\x1b']);
});

test('non-ASCII in a real reply is kept; mostly-binary lines are not', async () => {
  const { engine, answer } = setup();
  answer({ 'AT+COPS?': '\r\n+COPS: 0,0,"Bouygues T\xe9l\xe9com",7\r\n\xe4\xf6\xfc\xdf\r\nOK\r\n' });
  assert.deepEqual((await engine.send('AT+COPS?')).lines, ['+COPS: 0,0,"Bouygues T\xe9l\xe9com",7']);
});

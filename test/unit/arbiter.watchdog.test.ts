// The watchdog's pure judgement of rounds, and its driver for real: the ping package on loopback, DNS against a local
// responder (nothing leaves this host).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { judgeRound, type RoundResult } from '../../agent/machines/watchdog.machine.js';
import { createWatchdogDriver, pingConfig, rttOf, type Probe } from '../../agent/drivers/watchdog/watchdog.driver.js';

test('judgeRound: failures in a row per check, an alarm at the limit, then the count starts over', () => {
  const fail: RoundResult = { hosts: [{ host: 'a', rttMs: null }, { host: 'b', rttMs: null }], dns: { ok: false, detail: 'x: ETIMEOUT' } };
  const oneHost: RoundResult = { hosts: [{ host: 'a', rttMs: null }, { host: 'b', rttMs: 3 }], dns: { ok: true, detail: 'ok' } };
  let counts = { tunnel: 0, dns: 0 };
  const rounds = [fail, fail, fail, fail, oneHost].map((r) => {
    const j = judgeRound(counts, r, 3);
    counts = j.counts;
    return [j.counts.tunnel, j.counts.dns, j.alarms.map((a) => a.check).join(',')];
  });
  assert.deepEqual(rounds, [[1, 1, ''], [2, 2, ''], [0, 0, 'tunnel,dns'], [1, 1, ''], [0, 0, '']]);
  assert.match(judgeRound({ tunnel: 2, dns: 0 }, fail, 3).alarms[0]!.why, /no answer through the tunnel from a, b for 3 rounds/);
  assert.deepEqual(judgeRound({ tunnel: 0, dns: 0 }, { hosts: [], dns: null }, 1), { counts: { tunnel: 0, dns: 0 }, alarms: [] }, 'nothing configured: nothing judged');
});

test('ping: the package\'s config (one reply, whole-second deadline, out of the interface) and its answer read as an RTT', () => {
  assert.deepEqual(pingConfig('wg0', 1500), { numeric: true, min_reply: 1, timeout: 2, sourceAddr: 'wg0' });
  assert.equal(pingConfig('wg0', 200).timeout, 1, 'ping waits whole seconds, at least one');
  const table: Array<[{ alive: boolean; time: number | 'unknown' }, number | null]> = [
    [{ alive: true, time: 0.032 }, 0.032],
    [{ alive: true, time: 'unknown' }, 0],
    [{ alive: false, time: 'unknown' }, null],
  ];
  for (const [given, want] of table) assert.equal(rttOf(given), want, JSON.stringify(given));
});

test('driver: an abort ends the wait at once (the package has no signal; its ping ends by its own deadline); a failing probe is no answer', async () => {
  let asked: unknown = null;
  const never: Probe = (host, config) => {
    asked = { host, config };
    return new Promise(() => {});
  };
  const ac = new AbortController();
  const p = createWatchdogDriver(never).pingHost('10.0.0.10', 'wg0', 2000, ac.signal);
  ac.abort();
  assert.equal(await p, null);
  assert.deepEqual(asked, { host: '10.0.0.10', config: { numeric: true, min_reply: 1, timeout: 2, sourceAddr: 'wg0' } });
  assert.equal(await createWatchdogDriver(async () => { throw new Error('spawn ping ENOENT'); }).pingHost('10.0.0.10', 'wg0', 1000, new AbortController().signal), null);
});

test('driver: the ping package answers on loopback, and an address nobody has does not', { timeout: 10_000 }, async () => {
  const d = createWatchdogDriver();
  const ac = new AbortController();
  const rtt = await d.pingHost('127.0.0.1', 'lo', 1000, ac.signal);
  assert.ok(rtt !== null && rtt >= 0 && rtt < 100, `rtt ${rtt}`);
  // 127.0.0.1 bound to lo, asking for a TEST-NET address: the echo stays on lo and nothing answers.
  assert.equal(await d.pingHost('192.0.2.1', 'lo', 1000, ac.signal), null);
});

/** A DNS responder on loopback: A 10.0.0.10 for `hq.example`, NXDOMAIN for anything else. */
async function dnsResponder(): Promise<{ port: number; close: () => void; queries: string[] }> {
  const sock = createSocket('udp4');
  const queries: string[] = [];
  sock.on('message', (msg, rinfo) => {
    let i = 12;
    const labels: string[] = [];
    while (msg[i]! > 0) {
      labels.push(msg.subarray(i + 1, i + 1 + msg[i]!).toString());
      i += msg[i]! + 1;
    }
    const question = msg.subarray(12, i + 5);
    const name = labels.join('.');
    queries.push(name);
    const ok = name === 'hq.example';
    const header = Buffer.from([msg[0]!, msg[1]!, 0x81, ok ? 0x80 : 0x83, 0, 1, 0, ok ? 1 : 0, 0, 0, 0, 0]);
    const answer = ok ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 10]) : Buffer.alloc(0);
    sock.send(Buffer.concat([header, question, answer]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { port: sock.address().port, close: () => sock.close(), queries };
}

test('driver: DNS resolved with the given server from the given address; a failure rejects with its code', { timeout: 10_000 }, async (t) => {
  const dns = await dnsResponder();
  t.after(() => dns.close());
  const d = createWatchdogDriver();
  const ac = new AbortController();
  assert.deepEqual(await d.resolve('hq.example', [`127.0.0.1:${dns.port}`], '127.0.0.1', 1000, ac.signal), ['10.0.0.10']);
  await assert.rejects(d.resolve('bogus.example', [`127.0.0.1:${dns.port}`], '127.0.0.1', 1000, ac.signal), (e: NodeJS.ErrnoException) => e.code === 'ENOTFOUND');
  assert.deepEqual(dns.queries, ['hq.example', 'bogus.example']);
});

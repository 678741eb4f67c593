// The wpa_supplicant driver against the emulator on real unix datagram sockets, and the control client against a script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import unix from 'unix-dgram';
import { openWpaDriver, type WpaDriver } from '../../agent/drivers/wpa/wpa.driver.js';
import { WpaCtrl } from '../../agent/drivers/wpa/wpa.ctrl.js';
import { WpaEmulator, type EmulatedAp } from '../../lab/wifi/wpa.emulator.js';
import type { RadioEvent } from '../../agent/drivers/radio.js';
import { createLogger } from '../../shared/log.js';

const PSK = 'correct horse battery';

interface Rig {
  dir: string;
  aps: EmulatedAp[];
  links: Array<string | null>;
  emu: WpaEmulator;
  driver: WpaDriver;
  events: RadioEvent[];
  logs: string[];
  now: { t: number };
  done: () => Promise<void>;
}

async function rig(opts: { minSignal?: number } = {}): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'rl-wpa-'));
  const aps: EmulatedAp[] = [
    { bssid: '02:00:00:00:01:00', ssid: 'depot', signal: -48, freq: 2412, security: 'open' },
    { bssid: '02:00:00:00:02:00', ssid: 'street-7', signal: -70, freq: 2437, security: 'psk', psk: PSK },
    { bssid: '02:00:00:00:03:00', ssid: 'far-away', signal: -93, freq: 2462, security: 'open' },
    { bssid: '02:00:00:00:04:00', ssid: 'café "x"', signal: -60, freq: 5180, security: 'open' },
  ];
  const links: Array<string | null> = [];
  const now = { t: 1_000_000 };
  const emu = new WpaEmulator({
    ctrlPath: join(dir, 'wlan0'),
    ifname: 'wlan0',
    aps: () => aps,
    associate: async (ap) => {
      links.push(ap?.bssid ?? null);
    },
    now: () => now.t,
    ...opts,
  });
  await emu.start();
  const logs: string[] = [];
  const log = createLogger({ name: 'test', level: 'trace', destination: { write: (s: string) => void logs.push(s) } });
  const driver = await openWpaDriver({ ifname: 'wlan0', ctrlPath: join(dir, 'wlan0'), clientDir: dir, log }, sig());
  const events: RadioEvent[] = [];
  driver.onEvent((ev) => events.push(ev));
  return {
    dir, aps, links, emu, driver, events, logs, now,
    done: async () => {
      await driver.close();
      await emu.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const sig = (ms = 2000) => AbortSignal.timeout(ms);

/** Waits (polling the event loop, bounded) until `pred` holds. */
async function until(pred: () => boolean, what: string, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('scan: triggers a scan, waits for its results, shows APs in range only', async () => {
  const r = await rig();
  try {
    const scan = await r.driver.scan(sig());
    assert.deepEqual(scan.map((s) => [s.bssid, s.ssid, s.signal, s.flags]), [
      ['02:00:00:00:01:00', 'depot', -48, '[ESS]'],
      ['02:00:00:00:02:00', 'street-7', -70, '[WPA2-PSK-CCMP][ESS]'],
      ['02:00:00:00:04:00', 'café "x"', -60, '[ESS]'],
    ]);
    assert.ok(r.events.some((e) => e.type === 'radio.scan-results'));
    // two at once: the second finds a scan under way (FAIL-BUSY) and returns the last results
    const [a, b] = await Promise.all([r.driver.scan(sig()), r.driver.scan(sig())]);
    assert.equal(a.length, 3);
    assert.equal(b.length, 3);
  } finally {
    await r.done();
  }
});

test('connect to an open network: associated, status, signal poll follows the AP', async () => {
  const r = await rig();
  try {
    assert.equal(await r.driver.signalPoll(sig()), null, 'not associated yet');
    await r.driver.connect({ ssid: 'depot' }, sig());
    await until(() => r.events.some((e) => e.type === 'radio.connected'), 'radio.connected');
    assert.deepEqual(r.events.find((e) => e.type === 'radio.connected'), { type: 'radio.connected', bssid: '02:00:00:00:01:00', ssid: 'depot' });
    assert.deepEqual(r.links, ['02:00:00:00:01:00']);
    assert.deepEqual(await r.driver.status(sig()), { state: 'COMPLETED', ssid: 'depot', bssid: '02:00:00:00:01:00', freq: 2412 });
    assert.equal(await r.driver.signalPoll(sig()), -48);
    r.aps[0]!.signal = -67.4;
    assert.equal(await r.driver.signalPoll(sig()), -67);
    // the network in use: connect() again is a no-op (nothing re-sent, no new network)
    const before = r.logs.length;
    await r.driver.connect({ ssid: 'depot' }, sig());
    const sent = r.logs.slice(before).map((l) => JSON.parse(l).cmd);
    assert.deepEqual(sent, ['STATUS', 'LIST_NETWORKS']);
    assert.equal(r.emu.snapshot().networks, 1);
    await r.driver.disconnect(sig());
    await until(() => r.events.some((e) => e.type === 'radio.disconnected'), 'radio.disconnected');
    assert.deepEqual(r.events.find((e) => e.type === 'radio.disconnected'), { type: 'radio.disconnected', bssid: '02:00:00:00:01:00', reason: 3 });
    assert.deepEqual(r.links, ['02:00:00:00:01:00', null]);
    assert.equal((await r.driver.status(sig())).state, 'DISCONNECTED');
    // a DISCONNECTed radio stays off, even with the AP in range
    await r.emu.tick();
    assert.equal((await r.driver.status(sig())).state, 'DISCONNECTED');
  } finally {
    await r.done();
  }
});

test('connect with a psk: associated; the psk reaches no log line', async () => {
  const r = await rig();
  try {
    await r.driver.connect({ ssid: 'street-7', psk: PSK }, sig());
    await until(() => r.events.some((e) => e.type === 'radio.connected'), 'radio.connected');
    assert.deepEqual(r.links, ['02:00:00:00:02:00']);
    assert.equal((await r.driver.status(sig())).ssid, 'street-7');
    const cmds = r.logs.map((l) => JSON.parse(l).cmd as string | undefined).filter(Boolean);
    assert.ok(cmds.includes('SET_NETWORK 0 psk [redacted]'), cmds.join(' | '));
    assert.ok(cmds.includes('SET_NETWORK 0 key_mgmt WPA-PSK'));
    assert.ok(!r.logs.join('\n').includes('horse'), 'the psk is not logged');
  } finally {
    await r.done();
  }
});

test('wrong psk: the association fails with WRONG_KEY, the link never joins', async () => {
  const r = await rig();
  try {
    await r.driver.connect({ ssid: 'street-7', psk: 'not the right one' }, sig());
    await until(() => r.events.some((e) => e.type === 'radio.connect-failed'), 'radio.connect-failed');
    assert.deepEqual(r.events.find((e) => e.type === 'radio.connect-failed'), { type: 'radio.connect-failed', ssid: 'street-7', reason: 'WRONG_KEY' });
    assert.ok(r.events.some((e) => e.type === 'radio.disconnected' && e.reason === 15));
    assert.ok(!r.events.some((e) => e.type === 'radio.connected'));
    assert.deepEqual(r.links, []);
    assert.notEqual((await r.driver.status(sig())).state, 'COMPLETED');
    // the right psk on the same network: reused (id 0), connects
    await r.driver.connect({ ssid: 'street-7', psk: PSK }, sig());
    await until(() => r.events.some((e) => e.type === 'radio.connected'), 'radio.connected');
    assert.equal(r.emu.snapshot().networks, 1);
    // a psk wpa_supplicant refuses: the error names the command, redacted
    await assert.rejects(r.driver.connect({ ssid: 'depot', psk: 'short' }, sig()), (e: Error) => {
      assert.equal(e.message, 'wpa_supplicant refused "SET_NETWORK 1 psk [redacted]": FAIL');
      return true;
    });
  } finally {
    await r.done();
  }
});

test('an AP fading out of range: disconnected event at the next tick; back in range: reconnected', async () => {
  const r = await rig();
  try {
    await r.driver.connect({ ssid: 'depot', bssid: '02:00:00:00:01:00' }, sig());
    await until(() => r.events.some((e) => e.type === 'radio.connected'), 'radio.connected');
    r.aps[0]!.signal = -88;
    await r.emu.tick();
    assert.equal(await r.driver.signalPoll(sig()), -88, 'still associated at -88');
    r.aps[0]!.signal = -91;
    await r.emu.tick();
    await until(() => r.events.some((e) => e.type === 'radio.disconnected'), 'radio.disconnected');
    assert.deepEqual(r.events.find((e) => e.type === 'radio.disconnected'), { type: 'radio.disconnected', bssid: '02:00:00:00:01:00', reason: 4 });
    assert.deepEqual(r.links, ['02:00:00:00:01:00', null]);
    assert.equal(await r.driver.signalPoll(sig()), null);
    assert.deepEqual((await r.driver.scan(sig())).map((s) => s.ssid).includes('depot'), false, 'out of range: not in scans');
    r.aps[0]!.signal = -70;
    await r.emu.tick();
    await until(() => r.events.filter((e) => e.type === 'radio.connected').length === 2, 'reconnected');
    assert.deepEqual(r.links, ['02:00:00:00:01:00', null, '02:00:00:00:01:00']);
  } finally {
    await r.done();
  }
});

test('connect to another AP or network: the radio moves, networks are reused', async () => {
  const r = await rig();
  r.aps.push({ bssid: '02:00:00:00:01:01', ssid: 'depot', signal: -55, freq: 2462, security: 'open' });
  try {
    await r.driver.connect({ ssid: 'depot', bssid: '02:00:00:00:01:00' }, sig());
    await until(() => r.events.filter((e) => e.type === 'radio.connected').length === 1, 'connected');
    await r.driver.connect({ ssid: 'depot', bssid: '02:00:00:00:01:01' }, sig());
    await until(() => r.events.filter((e) => e.type === 'radio.connected').length === 2, 'moved');
    assert.equal((await r.driver.status(sig())).bssid, '02:00:00:00:01:01');
    await r.driver.connect({ ssid: 'café "x"' }, sig());
    await until(() => r.events.filter((e) => e.type === 'radio.connected').length === 3, 'other network');
    assert.equal((await r.driver.status(sig())).ssid, 'café "x"');
    await r.driver.connect({ ssid: 'depot' }, sig());
    await until(() => r.events.filter((e) => e.type === 'radio.connected').length === 4, 'back');
    assert.equal(r.emu.snapshot().networks, 2, 'one network per SSID');
    assert.deepEqual(r.links, ['02:00:00:00:01:00', null, '02:00:00:00:01:01', null, '02:00:00:00:04:00', null, '02:00:00:00:01:00']);
  } finally {
    await r.done();
  }
});

test('close() tears down: DETACH, socket file removed, calls refused; emulator stop is radio.gone', async () => {
  const r = await rig();
  await until(() => r.emu.snapshot().monitors === 1, 'attached');
  const clientFiles = () => readdirSync(r.dir).filter((f) => f.startsWith('roamlink_wpa_'));
  assert.equal(clientFiles().length, 1);
  await r.driver.close();
  assert.equal(clientFiles().length, 0, 'client socket file removed');
  await until(() => r.emu.snapshot().monitors === 0, 'detached');
  await assert.rejects(r.driver.status(sig()), /control socket closed/);
  await assert.rejects(r.driver.scan(sig()), /control socket closed/);
  await r.driver.close(); // idempotent

  // a second driver sees wpa_supplicant terminate
  const d2 = await openWpaDriver({ ifname: 'wlan0', ctrlPath: join(r.dir, 'wlan0'), clientDir: r.dir }, sig());
  const ev: RadioEvent[] = [];
  d2.onEvent((e) => ev.push(e));
  await r.emu.stop();
  await until(() => ev.some((e) => e.type === 'radio.gone'), 'radio.gone');
  assert.equal(existsSync(join(r.dir, 'wlan0')), false, 'control socket file removed');
  await assert.rejects(d2.status(sig()), /cannot send .*(ECONNREFUSED|ENOENT)/);
  await d2.close();
  await r.done();
});

test('opening a control socket that is not there names the path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-wpa-'));
  try {
    await assert.rejects(openWpaDriver({ ifname: 'wlan9', ctrlPath: join(dir, 'wlan9'), clientDir: dir }, sig()), (e: Error) => {
      assert.match(e.message, /cannot reach wpa_supplicant at .*wlan9: (ENOENT|ECONNREFUSED)/);
      return true;
    });
    assert.deepEqual(readdirSync(dir), [], 'no client socket left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the emulator answers unknown commands like wpa_supplicant', async () => {
  const r = await rig();
  const ctrl = WpaCtrl.open({ ctrlPath: join(r.dir, 'wlan0'), clientDir: r.dir });
  try {
    assert.equal(await ctrl.request('FROBNICATE', sig()), 'UNKNOWN COMMAND\n');
    assert.equal(await ctrl.request('PING', sig()), 'PONG\n');
    assert.equal(await ctrl.request('SET_NETWORK 7 ssid "x"', sig()), 'FAIL\n');
    assert.equal(await ctrl.request('ADD_NETWORK', sig()), '0\n');
    assert.equal(await ctrl.request('SET_NETWORK 0 frobnicate 1', sig()), 'FAIL\n');
    assert.equal(await ctrl.request('LIST_NETWORKS', sig()), 'network id / ssid / bssid / flags\n0\t\tany\t[DISABLED]\n');
    assert.equal(await ctrl.request('DETACH', sig()), 'FAIL\n', 'not attached');
  } finally {
    await ctrl.close();
    await r.done();
  }
});

// ---- the control client against a scripted server: events are never replies; late replies are dropped ----------

test('WpaCtrl: an event arriving before the reply is an event; an abandoned request\'s late reply is dropped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-wpa-'));
  const server = unix.createSocket('unix_dgram');
  const received: string[] = [];
  const replyTo: Array<(text: string) => void> = [];
  server.on('message', (buf, rinfo) => {
    received.push(buf.toString());
    const send = (text: string) => {
      const b = Buffer.from(text);
      server.send(b, 0, b.length, rinfo.path!);
    };
    replyTo.push(send);
  });
  server.bind(join(dir, 'ctrl'));
  const ctrl = WpaCtrl.open({ ctrlPath: join(dir, 'ctrl'), clientDir: dir });
  const events: string[] = [];
  ctrl.onEvent((e) => events.push(e));
  try {
    const p1 = ctrl.request('STATUS', sig());
    await until(() => replyTo.length === 1, 'STATUS received');
    replyTo[0]!('<3>CTRL-EVENT-SCAN-STARTED ');
    replyTo[0]!('<3>CTRL-EVENT-SCAN-RESULTS ');
    replyTo[0]!('wpa_state=COMPLETED\n');
    assert.equal(await p1, 'wpa_state=COMPLETED\n');
    assert.deepEqual(events, ['<3>CTRL-EVENT-SCAN-STARTED ', '<3>CTRL-EVENT-SCAN-RESULTS ']);

    // the caller gives up on PING; its PONG comes late, while STATUS waits: STATUS gets its own reply
    const ac = new AbortController();
    const p2 = ctrl.request('PING', ac.signal);
    ac.abort(new Error('gave up'));
    await assert.rejects(p2, /gave up/);
    const p3 = ctrl.request('STATUS', sig());
    await until(() => replyTo.length === 3, 'both received');
    replyTo[1]!('PONG\n');
    replyTo[2]!('<3>CTRL-EVENT-CONNECTED - Connection to 02:00:00:00:01:00 completed [id=0 id_str=]');
    replyTo[2]!('wpa_state=SCANNING\n');
    assert.equal(await p3, 'wpa_state=SCANNING\n');
    assert.equal(events.length, 3);
    assert.deepEqual(received, ['STATUS', 'PING', 'STATUS']);

    // an aborted signal sends nothing
    const dead = AbortSignal.abort(new Error('already'));
    await assert.rejects(ctrl.request('PING', dead), /already/);
    assert.equal(received.length, 3);

    // close fails what is pending
    const p4 = ctrl.request('STATUS', sig());
    await ctrl.close();
    await assert.rejects(p4, /control socket closed/);
  } finally {
    await ctrl.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

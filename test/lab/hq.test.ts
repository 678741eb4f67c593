// Lab test of the concentrator: `roamlink hq` in a namespace, vehicles added and revoked, peers and routes checked, a real
// handshake; a restart adopts the interface (the tunnel carries traffic throughout), a stop for good removes it.
//
//   rlt-hq-PID  (roamlink hq)                                rlt-hqv-PID  (stands in for bus-1)
//   wg rlh<PID> 10.99.0.1/24 :51820                          wg rlv<PID> 10.99.0.2/24, key from `vehicle add`
//   hq0 192.0.2.1/24  ──────────────── veth ───────────────  car0 192.0.2.2/24
//   routes 10.20.1.0/24, 10.20.2.0/24 dev rlh<PID> (proto 82)
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../../shared/exec.js';
import { killNetnsPids } from '../../lab/topology.js';
import { createWg, parseWgDump, wireguardGoSocket } from '../../shared/wg.js';
import { controlRequest } from '../../shared/control.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NS_HQ = `rlt-hq-${process.pid}`;
const NS_CAR = `rlt-hqv-${process.pid}`;
const IF_HQ = `rlh${process.pid}`;
const IF_CAR = `rlv${process.pid}`;
const notRoot = process.getuid?.() !== 0 && 'needs root (network namespaces, WireGuard)';

const wg = createWg();

/** Polls `check` until it returns a value (not undefined), or fails after `ms`. */
async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function roamlink(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('node', [join(ROOT, 'bin/roamlink'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c));
    p.stderr.on('data', (c: Buffer) => (stderr += c));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function exited(p: ChildProcess, ms: number): Promise<number | null | 'timeout'> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode);
  return Promise.race([new Promise<number | null>((r) => p.once('exit', (code) => r(code))), sleep(ms, 'timeout' as const, { ref: false })]);
}

/** Namespaces, config and key in a temp dir; everything (daemon, wireguard-go, sockets, namespaces) removed in t.after. */
async function setup(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'rlt-hq-'));
  const state: { daemon?: ChildProcess; log: string } = { log: '' };
  t.after(async () => {
    const d = state.daemon;
    if (d && d.exitCode === null && d.signalCode === null) {
      d.kill('SIGUSR2'); // a stop for good: the interface and the probe echo go too
      if ((await exited(d, 5000)) === 'timeout') d.kill('SIGKILL');
    }
    await wg.deleteInterface(IF_HQ, { netns: NS_HQ }).catch(() => {});
    await wg.deleteInterface(IF_CAR, { netns: NS_CAR }).catch(() => {});
    for (const ns of [NS_HQ, NS_CAR]) {
      await killNetnsPids(ns); // whatever a failed run left (the probe echo outlives a killed daemon)
      await run(['ip', 'netns', 'del', ns], { allowFail: true });
    }
    // Namespaces gone, so a wireguard-go that survived would be stopped by name above; its socket too.
    for (const ifn of [IF_HQ, IF_CAR]) rmSync(wireguardGoSocket(ifn), { force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  for (const ns of [NS_HQ, NS_CAR]) {
    await run(['ip', 'netns', 'add', ns]);
    await run(['ip', '-n', ns, 'link', 'set', 'dev', 'lo', 'up']);
  }
  await run(['ip', '-n', NS_HQ, 'link', 'add', 'name', 'hq0', 'type', 'veth', 'peer', 'name', 'car0', 'netns', NS_CAR]);
  for (const [ns, dev, addr] of [[NS_HQ, 'hq0', '192.0.2.1'], [NS_CAR, 'car0', '192.0.2.2']] as const) {
    await run(['ip', '-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev]);
    await run(['ip', '-n', ns, 'link', 'set', 'dev', dev, 'up']);
  }

  const key = await wg.genKey();
  writeFileSync(join(dir, 'hq.key'), `${key}\n`, { mode: 0o600 });
  const config = join(dir, 'hq.yaml');
  writeFileSync(
    config,
    [`interface: ${IF_HQ}`, 'private_key_file: hq.key', 'tunnel_network: 10.99.0.0/24', 'state_dir: state', 'control_socket: hq.sock', 'lan_subnets: [192.168.50.0/24]', 'log_level: debug', ''].join('\n'),
  );
  return { dir, config, socket: join(dir, 'hq.sock'), state, hqKey: key };
}

async function hqPeers(): Promise<Map<string, string[]>> {
  const r = await run(['wg', 'show', IF_HQ, 'dump'], { netns: NS_HQ });
  return new Map(parseWgDump(r.stdout).peers.map((p) => [p.publicKey, [...p.allowedIps].sort()]));
}

async function hqDump() {
  // What a restart must keep: which peers, their allowed-ips, endpoint and session (the handshake it came from).
  return parseWgDump((await run(['wg', 'show', IF_HQ, 'dump'], { netns: NS_HQ })).stdout).peers.map((p) => ({
    publicKey: p.publicKey, allowedIps: [...p.allowedIps].sort(), endpoint: p.endpoint, latestHandshake: p.latestHandshake,
  })).sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1)); // wg lists peers in no fixed order
}

async function hqRoutes(): Promise<string[]> {
  const r = await run(['ip', '-j', 'route', 'show', 'dev', IF_HQ, 'proto', '82'], { netns: NS_HQ });
  return (JSON.parse(r.stdout || '[]') as Array<{ dst: string }>).map((x) => x.dst).sort();
}

test('roamlink hq programs peers and routes from the registry, a vehicle connects, revocation removes it', { skip: notRoot, timeout: 60_000 }, async (t) => {
  const { config, socket, state, hqKey } = await setup(t);
  try {
    await scenario(config, socket, state, hqKey);
  } catch (err) {
    process.stderr.write(`--- roamlink hq log ---\n${state.log}\n`);
    throw err;
  }
});

async function scenario(config: string, socket: string, state: { daemon?: ChildProcess; log: string }, hqKey: string): Promise<void> {

  // The daemon starts in its namespace and answers on the control socket once it has reconciled.
  const startDaemon = () => {
    const d = spawn('ip', ['netns', 'exec', NS_HQ, 'node', join(ROOT, 'bin/roamlink'), 'hq', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    state.daemon = d;
    d.stdout!.on('data', (c: Buffer) => (state.log += c));
    d.stderr!.on('data', (c: Buffer) => (state.log += c));
    return d;
  };
  let daemon = startDaemon();
  const health = await until('the concentrator to answer', 15_000, async () => {
    if (daemon.exitCode !== null) throw new Error(`roamlink hq exited ${daemon.exitCode}: ${state.log}`);
    const r = await controlRequest(socket, 'GET', '/v1/health', { timeoutMs: 2000 }).catch(() => null);
    return r?.status === 200 ? (r.body as { ok: boolean; implementation: string; public_key: string }) : undefined;
  });
  assert.equal(health.ok, true);
  assert.equal(health.implementation, existsSync('/sys/module/wireguard') ? 'kernel' : 'wireguard-go');
  const addrs = await run(['ip', '-4', '-j', 'addr', 'show', 'dev', IF_HQ], { netns: NS_HQ });
  assert.deepEqual((JSON.parse(addrs.stdout) as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>)[0]!.addr_info.map((a) => `${a.local}/${a.prefixlen}`), ['10.99.0.1/24']);
  assert.equal((await hqPeers()).size, 0);

  // Two vehicles: each becomes a peer (tunnel address + LAN) and its LAN a route, at once.
  const add1 = await roamlink('vehicle', 'add', 'bus-1', '--make-key', '--subnet', '10.20.1.0/24', '--json', '--config', config);
  assert.equal(add1.code, 0, add1.stderr);
  assert.match(add1.stderr, /programmed by the running concentrator/);
  const bus1 = JSON.parse(add1.stdout) as { public_key: string; tunnel_address: string; private_key_file: string; concentrator: { public_key: string; listen_port: number } };
  assert.equal(bus1.tunnel_address, '10.99.0.2');
  assert.equal(bus1.concentrator.public_key, health.public_key);
  const add2 = await roamlink('vehicle', 'add', 'bus-2', '--subnet', '10.20.2.0/24', '--pubkey', await wg.pubKey(await wg.genKey()), '--json', '--config', config);
  assert.equal(add2.code, 0, add2.stderr);
  const bus2 = JSON.parse(add2.stdout) as { public_key: string; tunnel_address: string };
  assert.equal(bus2.tunnel_address, '10.99.0.3');

  assert.deepEqual(Object.fromEntries(await hqPeers()), {
    [bus1.public_key]: ['10.20.1.0/24', '10.99.0.2/32'],
    [bus2.public_key]: ['10.20.2.0/24', '10.99.0.3/32'],
  });
  assert.deepEqual(await hqRoutes(), ['10.20.1.0/24', '10.20.2.0/24']);

  // bus-1, with the key `vehicle add` generated, reaches HQ's tunnel address through the tunnel.
  await wg.createInterface(IF_CAR, { netns: NS_CAR });
  await wg.setPrivateKey(IF_CAR, readFileSync(bus1.private_key_file, 'utf8'), { netns: NS_CAR });
  await wg.setPeer(IF_CAR, { publicKey: bus1.concentrator.public_key, allowedIps: ['10.99.0.0/24'], endpoint: `192.0.2.1:${bus1.concentrator.listen_port}` }, { netns: NS_CAR });
  await run(['ip', 'address', 'add', '10.99.0.2/24', 'dev', IF_CAR], { netns: NS_CAR });
  await run(['ip', 'link', 'set', 'dev', IF_CAR, 'up'], { netns: NS_CAR });
  await until('a ping through the tunnel', 10_000, async () => {
    const r = await run(['ping', '-c', '1', '-W', '1', '10.99.0.1'], { netns: NS_CAR, allowFail: true });
    return r.exitCode === 0 ? true : undefined;
  });
  // HQ's firewall: through the tunnel, the agents' API answers; any other port on HQ is dropped (no refusal, a
  // timeout), counted by the table's drop rule.
  const tcp = (port: number) => run(['timeout', '2', 'bash', '-c', `exec 3<>/dev/tcp/10.99.0.1/${port}`], { netns: NS_CAR, allowFail: true });
  assert.equal((await tcp(8080)).exitCode, 0, 'the agents\' API is reachable through the tunnel');
  assert.equal((await tcp(9)).exitCode, 124, 'a closed port on HQ is dropped (timeout), not refused');
  const table = await run(['nft', 'list', 'chain', 'inet', 'roamlink_hq', 'from_vehicles'], { netns: NS_HQ });
  assert.match(table.stdout, /counter packets [1-9]\d* bytes \d+ drop/, table.stdout);
  const shown = await roamlink('vehicle', 'show', 'bus-1', '--json', '--config', config);
  const live = JSON.parse(shown.stdout) as { peer?: { endpoint: string; latest_handshake: string | null } };
  assert.equal(live.peer?.endpoint?.startsWith('192.0.2.2:'), true, shown.stdout);
  assert.notEqual(live.peer?.latest_handshake, null);

  // Watched from the vehicle's side while the daemon restarts: the probe echo and the agents' API (inside the tunnel).
  const watch = run(['node', join(ROOT, 'dist/lab/answer-watch.js'), '--probe', '192.0.2.1:51821', '--api', 'http://10.99.0.1:8080/v1/sites', '--for', '9000'], { netns: NS_CAR });
  await sleep(2000); // the watcher is up and sees both answering

  // SIGTERM (a restart): the daemon exits, the data plane stays and carries traffic with no daemon at all.
  const peersBefore = await hqDump();
  const stoppedAt = Date.now();
  daemon.kill('SIGTERM');
  assert.equal(await exited(daemon, 10_000), 0, state.log);
  assert.equal(existsSync(socket), false, 'control socket removed');
  assert.deepEqual(await hqDump(), peersBefore, 'peers (keys, allowed-ips, endpoints, handshakes) untouched');
  assert.deepEqual(await hqRoutes(), ['10.20.1.0/24', '10.20.2.0/24']);
  const during = await run(['ping', '-c', '1', '-W', '1', '10.99.0.1'], { netns: NS_CAR, allowFail: true });
  assert.equal(during.exitCode, 0, 'the tunnel answers while no daemon runs');

  // Started again, it adopts what it finds: no change to the peers (their sessions stay). The probe echo, a process of
  // its own, never stopped answering; the agents' API answers again once the new daemon has loaded.
  const spawnedAt = Date.now();
  daemon = startDaemon();
  await until('the concentrator to answer again', 15_000, async () => {
    if (daemon.exitCode !== null) throw new Error(`roamlink hq exited ${daemon.exitCode}: ${state.log}`);
    const r = await controlRequest(socket, 'GET', '/v1/health', { timeoutMs: 2000 }).catch(() => null);
    return r?.status === 200 ? true : undefined;
  });
  const seen = JSON.parse((await watch).stdout.trim()) as Record<'probe' | 'api', { answers: number; max_gap_ms: number; gap_from: number | null }>;
  const apiBack = seen.api.gap_from === null ? null : seen.api.gap_from + seen.api.max_gap_ms;
  process.stderr.write(`hq restart: probe echo longest silence ${seen.probe.max_gap_ms} ms; agents' API silent ${seen.api.max_gap_ms} ms, back ${apiBack === null ? '?' : apiBack - stoppedAt} ms after SIGTERM (${apiBack === null ? '?' : apiBack - spawnedAt} ms after the spawn)\n`);
  assert.ok(seen.probe.answers > 100 && seen.probe.max_gap_ms < 1000, JSON.stringify(seen));
  // (The echo never stops; 51-342 ms measured is the loaded box scheduling the watcher, hence the goal's 1 s as bound.)
  // The goal is 1 s from the restart (bench/hq-restart: the medians, and where the time goes). Bound at 3x the goal, for
  // a loaded 2-core box: at a load average of 11-14, 1.1-2.5 s from SIGTERM measured (2026-12-03), module loading most of it.
  assert.ok(seen.api.answers > 5 && apiBack !== null && apiBack - stoppedAt < 3000, JSON.stringify(seen));
  assert.match(state.log, /"probe echo adopted"/);
  assert.match(state.log, /"interface adopted"/);
  assert.deepEqual(await hqDump(), peersBefore, 'adopted as they were: no peer removed and added again');

  // Revoking bus-1 removes its peer and its route in one go; bus-2 is untouched; the tunnel stops answering within 1 s
  // of the command (pings every 10 ms, timestamped: the last reply against the command's start).
  const pinger = spawn('ip', ['netns', 'exec', NS_CAR, 'ping', '-D', '-n', '-i', '0.01', '-W', '1', '10.99.0.1'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let pings = '';
  pinger.stdout!.on('data', (c: Buffer) => (pings += c));
  await until('pings answered', 5000, async () => (/bytes from/.test(pings) ? true : undefined));
  const commandAt = Date.now();
  const rev = await roamlink('vehicle', 'revoke', 'bus-1', '--config', config);
  const returnedAt = Date.now();
  await sleep(1000);
  pinger.kill('SIGINT');
  await exited(pinger, 2000);
  assert.equal(rev.code, 0, rev.stderr);
  const replies = [...pings.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((m) => Number(m[1]) * 1000);
  const revokedAt = Date.parse((JSON.parse((await roamlink('vehicle', 'show', 'bus-1', '--json', '--config', config)).stdout) as { revoked_at: string }).revoked_at);
  const last = replies[replies.length - 1]!;
  const fromCommand = Math.round(last - commandAt);
  const fromRegistry = Math.round(last - revokedAt);
  process.stderr.write(`revoke: last reply ${fromCommand} ms after the command started, ${fromRegistry} ms after the registry change (the CLI's own start-up before it: ${revokedAt - commandAt} ms); the command took ${returnedAt - commandAt} ms; ${replies.length} replies\n`);
  // The system's part (registry change to the last packet) within 1 s; the CLI's Node start-up before it depends on the
  // machine's load (1.1 s for \`roamlink --help\` at load 14 on 2 cores, 2026-12), so the whole is bounded loosely.
  assert.ok(fromRegistry < 1000, `a revoked vehicle's packets pass ${fromRegistry} ms after the registry change`);
  assert.ok(fromCommand < 3000, `a revoked vehicle's packets pass ${fromCommand} ms after the command`);
  assert.deepEqual([...(await hqPeers()).keys()], [bus2.public_key]);
  assert.deepEqual(await hqRoutes(), ['10.20.2.0/24']);
  const ping = await run(['ping', '-c', '1', '-W', '1', '10.99.0.1'], { netns: NS_CAR, allowFail: true });
  assert.notEqual(ping.exitCode, 0, 'a revoked vehicle no longer reaches HQ');

  // Someone removes bus-2's route by hand: SIGHUP reconciles it back.
  await run(['ip', 'route', 'del', '10.20.2.0/24', 'dev', IF_HQ], { netns: NS_HQ });
  daemon.kill('SIGHUP');
  await until('SIGHUP to restore the route', 5000, async () => ((await hqRoutes()).length === 1 ? true : undefined));

  // SIGUSR2 (the unit's KillSignal: `systemctl stop`): a stop for good takes the interface, its wireguard-go and the sockets with it.
  daemon.kill('SIGUSR2');
  assert.equal(await exited(daemon, 10_000), 0, state.log);
  const link = await run(['ip', 'link', 'show', 'dev', IF_HQ], { netns: NS_HQ, allowFail: true });
  assert.notEqual(link.exitCode, 0, 'interface deleted');
  assert.equal(existsSync(socket), false, 'control socket removed');
  await until('the probe echo to be gone', 3000, async () => {
    const p = await run(['pgrep', '-f', `probe.echo.js --port 51821 --pidfile ${join(dirname(socket), 'hq-probe-echo.pid')}`], { allowFail: true });
    return p.exitCode !== 0 ? true : undefined;
  });
  await until('wireguard-go to be gone', 3000, async () => {
    const p = await run(['pgrep', '-x', '-f', `wireguard-go ${IF_HQ}`], { allowFail: true });
    return p.exitCode !== 0 && !existsSync(wireguardGoSocket(IF_HQ)) ? true : undefined;
  });
  for (const k of [hqKey, readFileSync(bus1.private_key_file, 'utf8').trim()]) assert.ok(!state.log.includes(k), 'no private key in the log');
}

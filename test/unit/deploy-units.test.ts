// The systemd units in deploy/systemd: `systemd-analyze verify` clean, exposure rated OK, and the contracts they share with the daemons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseAgentConfig } from '../../shared/config/agent.js';
import { DEFAULT_CONTROL_SOCKET, DEFAULT_HQ_CONFIG } from '../../shared/config/hq.js';
import { AGENT_NODE_FLAGS } from '../../shared/runtime.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const UNITS = { agent: 'roamlink-agent.service', hq: 'roamlink-hq.service' } as const;
const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const noAnalyze = analyze.error
  ? 'systemd-analyze is not installed (Debian package `systemd`); the units were not verified'
  : false;

type Unit = Map<string, Map<string, string[]>>;

/** Parses a unit file: section -> key -> values in order (pure; enough for our own units). */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = new Map();
      unit.set(s[1]!, section);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(section && eq > 0, `not a unit line: ${line}`);
    const key = line.slice(0, eq);
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1)]);
  }
  return unit;
}

function read(name: string): { text: string; unit: Unit; svc: (key: string) => string | undefined } {
  const text = readFileSync(join(ROOT, 'deploy/systemd', name), 'utf8');
  const unit = parseUnit(text);
  return { text, unit, svc: (key) => unit.get('Service')?.get(key)?.at(-1) };
}

/** The units with ExecStart pointing at this checkout's bin/roamlink (verify checks that the program exists). */
function staged(): { dir: string; paths: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'rlt-units-'));
  const paths = Object.values(UNITS).map((name) => {
    const p = join(dir, name);
    writeFileSync(p, read(name).text.replaceAll('/usr/local/bin/roamlink', join(ROOT, 'bin/roamlink')));
    return p;
  });
  return { dir, paths };
}

test('systemd-analyze verify: no error, no warning', { skip: noAnalyze }, () => {
  const { dir, paths } = staged();
  try {
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...paths], { encoding: 'utf8' });
    assert.equal(r.stderr.trim(), '', 'systemd-analyze verify printed warnings');
    assert.equal(r.status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('systemd-analyze security: both units rated OK (exposure below 4)', { skip: noAnalyze }, (t) => {
  const { dir, paths } = staged();
  try {
    for (const p of paths) {
      const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', p], { encoding: 'utf8' });
      const m = /Overall exposure level for \S+: ([\d.]+) (\w+)/.exec(r.stdout + r.stderr);
      if (!m) {
        t.diagnostic(`no offline security analysis here (systemd < 250?): ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
        continue;
      }
      assert.ok(Number(m[1]) < 4, `${p}: exposure ${m[1]} ${m[2]}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('both: Type=notify with a watchdog, notifications from the main PID only, no restart on a bad config', () => {
  for (const name of Object.values(UNITS)) {
    const { svc } = read(name);
    assert.equal(svc('Type'), 'notify', name);
    assert.equal(svc('NotifyAccess'), 'main', name);
    assert.match(svc('WatchdogSec') ?? '', /^\d+s$/, name);
    assert.equal(svc('Restart'), 'always', name);
    assert.equal(svc('RestartPreventExitStatus'), '2', name);
    assert.equal(svc('NoNewPrivileges'), 'yes', name);
    assert.equal(svc('ProtectSystem'), 'strict', name);
    assert.equal(svc('ConfigurationDirectory'), 'roamlink', name);
    assert.equal(svc('StateDirectory'), 'roamlink', name);
    assert.deepEqual(svc('RuntimeDirectory')?.split(/\s+/).sort(), ['roamlink', 'wireguard'], name);
    assert.equal(svc('MemoryDenyWriteExecute'), undefined, `${name}: Node's JIT needs writable code pages`);
  }
});

test('capabilities: the agent gets the network ones it uses, HQ less', () => {
  const caps = (name: string) => read(name).svc('CapabilityBoundingSet')?.split(/\s+/).sort();
  assert.deepEqual(caps(UNITS.agent), ['CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW']);
  assert.deepEqual(caps(UNITS.hq), ['CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE']);
  // udhcpc's raw sockets need AF_PACKET; the modem's serial port and the TUN device are the only devices.
  assert.match(read(UNITS.agent).svc('RestrictAddressFamilies') ?? '', /\bAF_PACKET\b/);
  assert.doesNotMatch(read(UNITS.hq).svc('RestrictAddressFamilies') ?? '', /\bAF_PACKET\b/);
  assert.deepEqual(read(UNITS.agent).unit.get('Service')?.get('DeviceAllow'), ['/dev/net/tun rw', 'char-ttyUSB rw', 'char-ttyACM rw']);
});

test('both run as the user roamlink with ambient capabilities inside the bounding set; only the pre-start steps run as root', () => {
  for (const [name, ambient] of [[UNITS.agent, ['CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW']], [UNITS.hq, ['CAP_NET_ADMIN']]] as const) {
    const u = read(name);
    assert.equal(u.svc('User'), 'roamlink', name);
    assert.equal(u.svc('Group'), 'roamlink', name);
    assert.equal(u.svc('NoNewPrivileges'), 'yes', name);
    assert.equal(u.svc('ProtectSystem'), 'strict', name);
    const amb = u.svc('AmbientCapabilities')?.split(/\s+/).sort() ?? [];
    assert.deepEqual(amb, [...ambient], name);
    const bound = u.svc('CapabilityBoundingSet')?.split(/\s+/) ?? [];
    for (const c of amb) assert.ok(bound.includes(c), `${name}: ${c} ambient but not in the bounding set`);
    // Root only where named: a '+' ExecStartPre (ownership of files root made; the agent's wireguard-go launcher).
    for (const key of ['ExecStart', 'ExecStopPost', 'ExecReload']) for (const v of u.unit.get('Service')?.get(key) ?? []) assert.ok(!/^[-@:!]*\+/.test(v), `${name} ${key} runs as root: ${v}`);
    const pre = u.unit.get('Service')?.get('ExecStartPre') ?? [];
    assert.ok(pre.every((v) => v.startsWith('+')), name);
    assert.match(pre[0] ?? '', /chown -R roamlink:roamlink \/var\/lib\/roamlink \/var\/cache\/roamlink/);
  }
  assert.deepEqual(read(UNITS.agent).unit.get('Service')?.get('SupplementaryGroups'), ['dialout']);
  assert.match(read(UNITS.agent).unit.get('Service')?.get('ExecStartPre')?.[1] ?? '', /^\+\/usr\/bin\/env -u NODE_COMPILE_CACHE \/usr\/local\/bin\/roamlink agent tunnel-device --config \/etc\/roamlink\/agent\.yaml --user roamlink$/);
});

test('the units run the daemons on the default config files, and their sockets live in the runtime directory', () => {
  assert.equal(read(UNITS.agent).svc('ExecStart'), '/usr/local/bin/roamlink agent --config /etc/roamlink/agent.yaml');
  assert.equal(read(UNITS.hq).svc('ExecStart'), `/usr/local/bin/roamlink hq --config ${DEFAULT_HQ_CONFIG}`);
  const agentDefaults = parseAgentConfig(parseYaml(readFileSync(join(ROOT, 'deploy/examples/agent.yaml'), 'utf8')));
  for (const p of [agentDefaults.control_socket, agentDefaults.run_dir, DEFAULT_CONTROL_SOCKET]) assert.match(p, /^\/run\/roamlink(\/|$)/);
  assert.equal(agentDefaults.state_dir, '/var/lib/roamlink');
});

test('the agent unit removes the data plane after a stop for good, and only then', () => {
  const u = read(UNITS.agent);
  assert.equal(u.svc('ExecStopPost'), '-/usr/local/bin/roamlink agent down --config /etc/roamlink/agent.yaml --unless-restarting');
  // The tunnel outlives a restart by living outside the unit's cgroup (its own scope), not by sparing the cgroup.
  assert.equal(u.svc('KillMode'), undefined);
  assert.equal(u.svc('RuntimeDirectoryPreserve'), 'yes', "wireguard-go's sockets in /run/wireguard outlive a restart");
});

test('the agent unit runs Node with the flags the lab measures the agent with', () => {
  const env = read(UNITS.agent).unit.get('Service')?.get('Environment') ?? [];
  const flags = env.map((e) => /^"?ROAMLINK_NODE_FLAGS=([^"]*)"?$/.exec(e)?.[1]).filter((v) => v !== undefined);
  assert.deepEqual(flags, [AGENT_NODE_FLAGS.join(' ')]);
  assert.ok(AGENT_NODE_FLAGS.length > 0);
  // The installed wrapper hands them to Node (unquoted: one word each).
  assert.match(readFileSync(join(ROOT, 'deploy/install.sh'), 'utf8'), /exec \S+ \\\$ROAMLINK_NODE_FLAGS \S+\/bin\/roamlink "\\\$@"/);
});

test('sysctl files: forwarding on both sides, no reverse-path filter on the vehicle', () => {
  const agent = readFileSync(join(ROOT, 'deploy/sysctl/60-roamlink-agent.conf'), 'utf8');
  const hq = readFileSync(join(ROOT, 'deploy/sysctl/60-roamlink-hq.conf'), 'utf8');
  assert.match(agent, /^net\.ipv4\.ip_forward = 1$/m);
  assert.match(agent, /^net\.ipv4\.conf\.all\.rp_filter = 0$/m);
  assert.match(hq, /^net\.ipv4\.ip_forward = 1$/m);
  // HQ's WireGuard socket (wireguard-go sizes none) holds seconds of a vehicle's copies, not ~130 ms.
  const core = Object.fromEntries([...hq.matchAll(/^(net\.core\.\w+) = (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
  assert.ok(core['net.core.rmem_default']! >= 4 << 20 && core['net.core.rmem_max']! >= core['net.core.rmem_default']!, JSON.stringify(core));
  // The lab's machine applies the same lines (deploy/setup.sh), so the lab's HQ is the one installed.
  assert.match(readFileSync(join(ROOT, 'deploy/setup.sh'), 'utf8'), /grep -E '\^net\\\.core\\\.' deploy\/sysctl\/60-roamlink-hq\.conf/);
});

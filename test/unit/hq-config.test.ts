// The HQ config file: defaults, every field's refusal naming the field, the private key file's mode and content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHqConfig } from '../../shared/config/hq.js';

const KEY = 'KPD+e8mvLdOOI+Wl9HYVjuOXj4U/izotj3qE2CZTbUA=';

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'rl-hqcfg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hq.key'), `${KEY}\n`, { mode: 0o600 });
  return dir;
}

const base = 'interface: rl-hq0\nprivate_key_file: hq.key\ntunnel_network: 10.99.0.0/24\nstate_dir: state\n';

test('a minimal config gets its defaults and paths relative to the file', async (t) => {
  const dir = tmp(t);
  writeFileSync(join(dir, 'hq.yaml'), base);
  const cfg = await loadHqConfig(join(dir, 'hq.yaml'));
  assert.equal(cfg.interface, 'rl-hq0');
  assert.equal(cfg.listen_port, 51820);
  assert.equal(cfg.private_key_file, join(dir, 'hq.key'));
  assert.equal(cfg.state_dir, join(dir, 'state'));
  assert.equal(cfg.control_socket, '/run/roamlink/hq.sock');
  assert.deepEqual(cfg.lan_subnets, []);
  assert.equal(cfg.log_level, 'info');
  assert.equal(cfg.tunnel_address, '10.99.0.1');
  assert.ok(!JSON.stringify(cfg).includes(KEY), 'the key is not kept in the config');
});

test('refusals name the field', async (t) => {
  const dir = tmp(t);
  const table: Array<{ name: string; yaml: string; want: RegExp }> = [
    { name: 'interface too long', yaml: base.replace('rl-hq0', 'a-very-long-name0'), want: /interface: not an interface name/ },
    { name: 'interface with a slash', yaml: base.replace('rl-hq0', 'wg/0'), want: /interface: not an interface name/ },
    { name: 'interface missing', yaml: base.replace('interface: rl-hq0\n', ''), want: /interface: / },
    { name: 'port out of range', yaml: `${base}listen_port: 70000\n`, want: /listen_port: / },
    { name: 'port as text', yaml: `${base}listen_port: lots\n`, want: /listen_port: / },
    { name: 'tunnel_network not a CIDR', yaml: base.replace('10.99.0.0/24', '10.99.0.0/33'), want: /tunnel_network: not an IPv4 CIDR/ },
    { name: 'tunnel_network host bits', yaml: base.replace('10.99.0.0/24', '10.99.0.1/24'), want: /tunnel_network: not a network address/ },
    { name: 'tunnel_network too small', yaml: base.replace('10.99.0.0/24', '10.99.0.0/31'), want: /tunnel_network: too small/ },
    { name: 'state_dir missing', yaml: base.replace('state_dir: state\n', ''), want: /state_dir: / },
    { name: 'lan_subnets entry', yaml: `${base}lan_subnets: [192.168.10.0/24, 300.1.1.0/24]\n`, want: /lan_subnets\[1\]: not an IPv4 CIDR/ },
    { name: 'vehicle_subnets public', yaml: `${base}vehicle_subnets: [10.20.0.0/16, 8.8.8.0/24]\n`, want: /vehicle_subnets\[1\]: not inside a private range \(10\.0\.0\.0\/8, 172\.16\.0\.0\/12, 192\.168\.0\.0\/16\)/ },
    { name: 'vehicle_subnets loopback', yaml: `${base}vehicle_subnets: [127.0.0.0/8]\n`, want: /vehicle_subnets\[0\]: not inside a private range/ },
    { name: 'vehicle_subnets empty', yaml: `${base}vehicle_subnets: []\n`, want: /vehicle_subnets: / },
    { name: 'reconcile_interval_ms too short', yaml: `${base}reconcile_interval_ms: 10\n`, want: /reconcile_interval_ms: / },
    { name: 'lan_subnets overlaps the tunnel', yaml: `${base}lan_subnets: [10.99.0.128/25]\n`, want: /lan_subnets\[0\]: 10\.99\.0\.128\/25 overlaps tunnel_network/ },
    { name: 'log_level', yaml: `${base}log_level: loud\n`, want: /log_level: / },
    { name: 'unknown key (a typo)', yaml: `${base}listen-port: 1\n`, want: /listen-port/ },
    { name: 'not a mapping', yaml: '- a\n- b\n', want: /expected a mapping/ },
    { name: 'not YAML', yaml: 'interface: [\n', want: /not valid YAML/ },
  ];
  for (const { name, yaml, want } of table) {
    const file = join(dir, 'hq.yaml');
    writeFileSync(file, yaml);
    await assert.rejects(loadHqConfig(file), (e: Error) => {
      assert.equal(e.name, 'InputError', name);
      assert.match(e.message, want, name);
      assert.ok(e.message.startsWith(file), `${name}: names the file`);
      return true;
    });
  }
});

test('the private key file: missing, readable by others, not a key', async (t) => {
  const dir = tmp(t);
  const file = join(dir, 'hq.yaml');
  writeFileSync(file, base);
  await loadHqConfig(file);
  chmodSync(join(dir, 'hq.key'), 0o644);
  await assert.rejects(loadHqConfig(file), /private_key_file: .*hq\.key is accessible to group or others \(mode 0644\)/);
  writeFileSync(join(dir, 'hq.key'), 'not a key\n', { mode: 0o600 });
  chmodSync(join(dir, 'hq.key'), 0o600);
  await assert.rejects(loadHqConfig(file), (e: Error) => /private_key_file: not a WireGuard key/.test(e.message) && !e.message.includes('not a key"'));
  rmSync(join(dir, 'hq.key'));
  await assert.rejects(loadHqConfig(file), /private_key_file: cannot read .*ENOENT/);
  await assert.rejects(loadHqConfig(join(dir, 'nope.yaml')), /InputError: --config: cannot read .*nope\.yaml: ENOENT/);
});

// What an enrollment writes into agent.yaml: HQ's endpoint, or, in a file that lists two HQs, their endpoints kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEnrollment } from '../../agent/enroll/enroll.apply.js';
import { parseAgentConfig } from '../../shared/config/agent.js';
import { parseYaml } from '../../shared/yaml.js';

const KEY = Buffer.alloc(32, 7).toString('base64');
const response = {
  vehicle: 'bus-7', tunnel_address: '10.99.0.7', subnet: '10.20.7.0/24', site: null,
  concentrator: { public_key: KEY, tunnel_address: '10.99.0.1', listen_port: 51820, probe_port: 51821, api_port: 8080, routes: ['10.0.0.0/24'] },
};
const file = (concentrator: string) => `vehicle: placeholder
wireguard: { interface: rl-wg0, private_key_file: /x, address: 10.99.0.250 }
concentrator: ${concentrator}
uplinks: [ { name: wlan0, kind: wifi } ]
`;

test('one HQ: the endpoint is the enrolling HQ\'s; two HQs listed: both kept, no endpoint added', () => {
  const one = parseAgentConfig(parseYaml(applyEnrollment(file(`{ endpoint: 198.51.100.9:1, public_key: ${KEY}, tunnel_address: 10.99.0.1 }`), 'agent.yaml', response, { endpointHost: 'hq-a.example.net', keyFile: '/etc/roamlink/agent.key' }), 'x'));
  assert.deepEqual(one.concentrator.endpoints, ['hq-a.example.net:51820']);
  const two = parseAgentConfig(parseYaml(applyEnrollment(file(`{ endpoints: [hq-a.example.net:51820, hq-b.example.net:51820], public_key: ${KEY}, tunnel_address: 10.99.0.1 }`), 'agent.yaml', response, { endpointHost: 'hq-a.example.net', keyFile: '/etc/roamlink/agent.key' }), 'x'));
  assert.deepEqual(two.concentrator.endpoints, ['hq-a.example.net:51820', 'hq-b.example.net:51820']);
  assert.equal(two.vehicle, 'bus-7');
});

test('a config in JSON (YAML flow style) is enrolled into a file the agent reads: its top level written in block style', () => {
  const json = JSON.stringify({
    wireguard: { interface: 'rl-wg0' }, lan: { interface: 'lan0' }, control_socket: '/run/roamlink/agent.sock', run_dir: '/run/roamlink', state_dir: '/var/lib/roamlink',
    connect_list: [{ ssid: 'depot', min_signal: -80 }], uplinks: [{ name: 'wlan0', kind: 'wifi', ctrl_path: '/run/wpa/wlan0' }, { name: 'wlan1', kind: 'wifi', ctrl_path: '/run/wpa/wlan1' }, { name: 'wwan0', kind: 'lte' }],
    modem: { device: '/dev/ttyUSB2', apn: 'internet' },
  });
  const out = applyEnrollment(json, 'agent.yaml', response, { endpointHost: '198.51.100.2', keyFile: '/etc/roamlink/agent.key' });
  const cfg = parseAgentConfig(parseYaml(out, 'agent.yaml'));
  assert.deepEqual([cfg.vehicle, cfg.wireguard.address, cfg.lan?.subnet, cfg.concentrator.endpoints], ['bus-7', '10.99.0.7', '10.20.7.0/24', ['198.51.100.2:51820']]);
  assert.ok(out.split('\n').length > 8, out);
});

// What an enrollment writes into the agent config (pure): the vehicle's name, tunnel address and LAN subnet, HQ's key,
// endpoint, tunnel address, ports and routes, and the key file; the rest of the file (uplinks, LAN interface, comments)
// stays as it is (a file in JSON, YAML's flow style, is written in block style at the top: one line would hold every
// key). The result must pass the agent's own reader and its config's schema.
import { isMap, parseDocument } from 'yaml';
import { parseAgentConfig } from '../../shared/config/agent.js';
import { parseYaml } from '../../shared/yaml.js';
import { InputError } from '../../shared/errors.js';
import type { EnrollResponse } from '../../shared/wire/enroll.js';

export function applyEnrollment(text: string, source: string, e: EnrollResponse, o: { endpointHost: string; keyFile: string; endpoint?: string }): string {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new InputError(`${source}: not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`, '--config');
  const host = o.endpointHost.includes(':') ? `[${o.endpointHost}]` : o.endpointHost;
  const set = (path: string[], v: unknown) => doc.setIn(path, doc.createNode(v));
  set(['vehicle'], e.vehicle);
  set(['wireguard', 'private_key_file'], o.keyFile);
  set(['wireguard', 'address'], e.tunnel_address);
  // A file that lists two HQs (concentrator.endpoints) keeps them: the enrolling HQ is one of them.
  if (!doc.hasIn(['concentrator', 'endpoints'])) set(['concentrator', 'endpoint'], o.endpoint ?? `${host}:${e.concentrator.listen_port}`);
  set(['concentrator', 'public_key'], e.concentrator.public_key);
  set(['concentrator', 'tunnel_address'], e.concentrator.tunnel_address);
  set(['concentrator', 'probe_port'], e.concentrator.probe_port);
  set(['concentrator', 'api_port'], e.concentrator.api_port);
  set(['concentrator', 'routes'], e.concentrator.routes);
  if (doc.hasIn(['lan'])) set(['lan', 'subnet'], e.subnet);
  if (isMap(doc.contents)) doc.contents.flow = false;
  const out = doc.toString({ lineWidth: 0 });
  parseAgentConfig(parseYaml(out, source), source);
  return out;
}

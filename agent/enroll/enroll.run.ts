// `roamlink enroll CODE --hq HOST` on the vehicle: its WireGuard key made here (or the one already there), the public
// key registered with HQ by the one-time code over pinned HTTPS, and agent.yaml written (mode 0600) with what HQ
// answered. The config is checked before anything is sent; a refusal leaves every file as it was.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import { readSecretFile } from '../../shared/secret-file.js';
import { assertWgKey, generatePrivateKey, publicKeyOf } from '../../shared/wg.keys.js';
import type { EnrollResponse } from '../../shared/wire/enroll.js';
import { applyEnrollment } from './enroll.apply.js';
import { parseHq, requestEnrollment } from './enroll.client.js';

/** The template when the vehicle has no agent.yaml yet: the annotated example shipped with the app. */
export const EXAMPLE_AGENT_YAML = fileURLToPath(new URL('../../../deploy/examples/agent.yaml', import.meta.url));

export interface EnrollRun {
  code: string;
  hq: string;
  pin?: string;
  ca?: string;
  config: string;
  key: string;
  endpoint?: string;
}

export interface Enrolled {
  response: EnrollResponse;
  config: string;
  key: string;
  keyMade: boolean;
}

export async function runEnroll(o: EnrollRun): Promise<Enrolled> {
  const target = parseHq(o.hq);
  const fromExample = !existsSync(o.config);
  const template = readFileSync(fromExample ? EXAMPLE_AGENT_YAML : o.config, 'utf8');
  // The file must take an enrollment before the code is spent (a placeholder one, the same shape).
  const placeholder: EnrollResponse = {
    vehicle: 'enrolling', tunnel_address: '10.99.0.2', subnet: '10.20.0.0/24', site: null,
    concentrator: { public_key: publicKeyOf(generatePrivateKey()), tunnel_address: '10.99.0.1', listen_port: 51820, probe_port: 51821, api_port: 8080, routes: [] },
  };
  applyEnrollment(template, o.config, placeholder, { endpointHost: target.host, keyFile: o.key, ...(o.endpoint ? { endpoint: o.endpoint } : {}) });
  const keyMade = !existsSync(o.key);
  const privateKey = keyMade ? generatePrivateKey() : assertWgKey(await readSecretFile(o.key, '--key'), '--key', false);
  const ca = o.ca ? readFileSync(o.ca, 'utf8') : undefined;
  const response = await requestEnrollment({ ...target, ...(o.pin ? { pin: o.pin } : {}), ...(ca ? { ca } : {}) }, { code: o.code, public_key: publicKeyOf(privateKey) });
  const text = applyEnrollment(template, o.config, response, { endpointHost: target.host, keyFile: o.key, ...(o.endpoint ? { endpoint: o.endpoint } : {}) });
  if (keyMade) writeFileAtomic(o.key, `${privateKey}\n`, 0o600);
  writeFileAtomic(o.config, text, 0o600);
  return { response, config: o.config, key: o.key, keyMade };
}

// The probe echo as a process of its own, part of HQ's data plane: it outlives the daemon (a restart, a crash), so the
// agents' probes never go unanswered while their tunnels carry traffic. Started and stopped by concentrator/echo.ts.
//   node probe.echo.js --port 51821 --pidfile /var/lib/roamlink/probe-echo.pid [--holding 10.0.0.1]
// With --holding (hq.yaml's vrrp_address), only while this machine holds that address are the agents answered.
import { rmSync, writeFileSync } from 'node:fs';
import { startProbeResponder } from './probe.responder.js';
import { probeGate } from './probe.gate.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};

const port = Number(arg('port'));
const pidfile = arg('pidfile');
const holding = arg('holding');
if (!Number.isInteger(port) || port < 1 || port > 65535 || !pidfile) {
  process.stderr.write('usage: probe.echo.js --port N --pidfile FILE [--holding IPV4]\n');
  process.exit(2);
}
const sock = await startProbeResponder(port, '0.0.0.0', probeGate({ holding }));
writeFileSync(pidfile, `${process.pid}\n`);
const stop = () => {
  sock.close();
  rmSync(pidfile, { force: true });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The daemon that started it may be gone (a restart): it no longer has a terminal or a parent to tell it anything.
process.on('SIGHUP', () => {});

// Lab tool, run inside a namespace: asks HQ's probe echo (UDP, every 10 ms) and agents' API (HTTP, one request at a
// time) for `--for` ms and prints one JSON line: how many answered, and the longest time without an answer of each
// (from the first answer to the last, so a restart in between shows as that gap), with when it began (epoch ms).
//   node answer-watch.js --probe 192.0.2.1:51821 --api http://10.99.0.1:8080/v1/sites --for 8000
import { createSocket } from 'node:dgram';
import { request } from 'node:http';
import { encodeProbe, decodeProbe } from '../agent/drivers/probe/udp.probe.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const [probeHost, probePort] = (arg('probe') ?? '').split(':');
const api = arg('api');
const until = Date.now() + Number(arg('for') ?? 8000);

class Answers {
  n = 0;
  last: number | null = null;
  maxGap = 0;
  gapFrom: number | null = null;
  seen(at: number) {
    if (this.last !== null && at - this.last > this.maxGap) {
      this.maxGap = at - this.last;
      this.gapFrom = this.last;
    }
    this.last = at;
    this.n++;
  }
  get view() {
    return { answers: this.n, max_gap_ms: this.maxGap, gap_from: this.gapFrom };
  }
}
const probe = new Answers();
const http = new Answers();

const sock = createSocket('udp4');
let seq = 0;
sock.on('message', (m) => {
  if (decodeProbe(m)) probe.seen(Date.now());
});
sock.on('error', () => {});

let inFlight = false;
const ask = () => {
  inFlight = true;
  const req = request(api!, { timeout: 200, agent: false }, (res) => {
    res.resume();
    http.seen(Date.now());
    inFlight = false;
  });
  req.on('timeout', () => req.destroy());
  req.on('error', () => {
    inFlight = false;
  });
  req.end();
};

const tick = setInterval(() => {
  if (Date.now() > until) {
    clearInterval(tick);
    sock.close();
    process.stdout.write(`${JSON.stringify({ probe: probe.view, api: http.view })}\n`);
    process.exit(0);
  }
  if (probeHost) sock.send(encodeProbe(7, seq++), Number(probePort), probeHost);
  if (api && !inFlight) ask();
}, 10);

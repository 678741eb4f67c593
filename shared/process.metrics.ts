// A daemon's process metrics (CPU, memory, file descriptors, start time, event loop delay) and roamlink_build_info, in
// the names Prometheus client libraries use (process_*, nodejs_*), read at each scrape from process.* and /proc/self.
import { readdirSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Counter, Gauge, type Registry } from './wire/prometheus.js';

/** This build's version: package.json's, read once ("unknown" when the file is not beside the build). */
export const BUILD_VERSION: string = (() => {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const v = (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string });
      if (v.name === 'roamlink' && typeof v.version === 'string') return v.version;
    } catch {
      // not there: the next candidate
    }
  }
  return 'unknown';
})();

/** The soft limit on open files (/proc/self/limits), or null off Linux. */
function maxFds(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function openFds(): number | null {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return null;
  }
}

/**
 * Registers the process metrics and roamlink_build_info{version,node,daemon} on `registry`. The event loop delay is
 * sampled by perf_hooks (a histogram the loop fills itself; 20 ms resolution) and reset at each scrape, so its
 * quantiles cover the time since the previous scrape. Returns a stop() that ends the sampling.
 */
export function registerProcessMetrics(registry: Registry, daemon: 'hq' | 'agent'): () => void {
  const startSeconds = Math.round((performance.timeOrigin / 1000) * 1000) / 1000;
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  const cpu = () => process.cpuUsage();
  registry.register(new Gauge('roamlink_build_info', 'This build: version, Node version and daemon, as labels; the value is 1.', ['version', 'node', 'daemon'], () => [
    { labels: { version: BUILD_VERSION, node: process.version, daemon }, value: 1 },
  ]));
  registry.register(new Counter('process_cpu_user_seconds_total', 'User CPU time spent, in seconds.', [], () => [{ value: cpu().user / 1e6 }]));
  registry.register(new Counter('process_cpu_system_seconds_total', 'System CPU time spent, in seconds.', [], () => [{ value: cpu().system / 1e6 }]));
  registry.register(new Counter('process_cpu_seconds_total', 'User and system CPU time spent, in seconds.', [], () => {
    const c = cpu();
    return [{ value: (c.user + c.system) / 1e6 }];
  }));
  registry.register(new Gauge('process_resident_memory_bytes', 'Resident memory size, in bytes.', [], () => process.memoryUsage.rss()));
  registry.register(new Gauge('process_start_time_seconds', 'When the process started, in seconds since the epoch.', [], () => startSeconds));
  registry.register(new Gauge('process_open_fds', 'Open file descriptors.', [], () => [openFds()].filter((v) => v !== null).map((value) => ({ value }))));
  registry.register(new Gauge('process_max_fds', 'The limit on open file descriptors.', [], () => [maxFds()].filter((v) => v !== null).map((value) => ({ value }))));
  registry.register(new Gauge('nodejs_heap_size_used_bytes', "V8's heap in use, in bytes.", [], () => process.memoryUsage().heapUsed));
  registry.register(new Gauge('nodejs_eventloop_delay_seconds', 'Event loop delay since the previous scrape, by quantile (perf_hooks, 20 ms resolution).', ['quantile'], () => {
    const rows = loop.count
      ? [0.5, 0.99, 1].map((q) => ({ labels: { quantile: String(q) }, value: (q === 1 ? loop.max : loop.percentile(q * 100)) / 1e9 }))
      : [];
    loop.reset();
    return rows;
  }));
  return () => loop.disable();
}

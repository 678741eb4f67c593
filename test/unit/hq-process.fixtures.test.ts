// Test fixtures (no tests): an HQ process on a store over inject(), whose commits can be held, failed, or never done
// because the process died (ingest.durable.test, store.backends.test).
import { buildAgentApi } from '../../concentrator/agent-api/app.js';
import { FleetState } from '../../concentrator/agent-api/fleet.js';
import { GroupCommit, type BatchStore } from '../../concentrator/agent-api/ingest.js';
import { durableOutcome, eventsOutcome } from '../../agent/ship/client.js';
import type { DurableOutcome, SendOutcome } from '../../agent/ship/shipper.js';
import type { DurableMark, SwitchEvent } from '../../shared/wire/switch-event.js';

export /** A store whose commits wait until released (or fail): what a slow fsync, a crash before it, or a lost disk look like. */
function gatedStore(inner: BatchStore) {
  const held: Array<{ go: () => void; fail: (e: Error) => void }> = [];
  let mode: 'pass' | 'hold' = 'pass';
  const store: BatchStore = {
    ingestMany: (batches) =>
      mode === 'pass' ? inner.ingestMany(batches) : new Promise((resolve, reject) => held.push({ go: () => resolve(inner.ingestMany(batches)), fail: reject })),
  };
  return { store, held, hold: () => (mode = 'hold'), pass: () => (mode = 'pass') };
}

export /**
 * An HQ process on a store: the real agents' API over inject(). `kill()` is the process dying: its answers in flight
 * never arrive and its queued commits never happen (the store is left as it was).
 */
function hqProcess(inner: BatchStore) {
  const g = gatedStore(inner);
  const gc = new GroupCommit(g.store);
  const app = buildAgentApi({ identify: async () => ({ name: 'bus-7' }), ingest: (b) => gc.submit(b), durability: gc, fleet: new FleetState({ offlineAfterMs: 15_000 }) });
  let dead: () => void = () => {};
  const died = new Promise<{ kind: 'retry'; error: string }>((resolve) => (dead = () => resolve({ kind: 'retry', error: 'socket hang up' })));
  const call = async <T>(f: () => Promise<T>) => Promise.race([f(), died]);
  return {
    g, gc, posts: 0, gets: 0,
    send(events: SwitchEvent[]): Promise<SendOutcome> {
      this.posts++;
      return call(async () => {
        const r = await app.inject({ method: 'POST', url: '/v1/events', remoteAddress: '10.99.0.2', headers: { prefer: 'respond-async' }, payload: { events } });
        return eventsOutcome({ status: r.statusCode, body: r.json() });
      });
    },
    durable(want: DurableMark): Promise<DurableOutcome> {
      this.gets++;
      return call(async () => {
        const r = await app.inject({ method: 'GET', url: `/v1/events/durable?epoch=${want.epoch}&upto=${want.upto}`, remoteAddress: '10.99.0.2' });
        return durableOutcome({ status: r.statusCode, body: r.json() });
      });
    },
    /** A heartbeat (the agent's, every few seconds): its answer's `durable` (unvalidated, as the agent gets it). */
    heartbeat(): Promise<unknown> {
      return call(async () => {
        const r = await app.inject({ method: 'POST', url: '/v1/heartbeat', remoteAddress: '10.99.0.2', payload: { vehicle: 'bus-7', at: new Date().toISOString(), active: null, uplinks: [] } });
        if (r.statusCode !== 200) throw new Error(`heartbeat: HTTP ${r.statusCode} ${r.body}`);
        return (r.json() as { durable?: unknown }).durable;
      });
    },
    kill: () => {
      dead();
      void app.close();
    },
  };
}


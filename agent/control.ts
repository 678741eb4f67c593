// The agent's control API on a unix socket: status, and operator-forced switches (`roamlink switch UPLINK`); errors
// from the one table (shared/http/errors.ts).
import Fastify, { type FastifyInstance } from 'fastify';
import type { Actor, AnyStateMachine } from 'xstate';
import type { Logger } from '../shared/log.js';
import type { ReloadOutcome } from '../shared/config/reload.plan.js';
import { installErrorHandling, sendError } from '../shared/http/errors.js';
import { arbiterView, type ArbiterEmitted, type SwitchRecord } from './machines/arbiter.machine.js';

export interface ControlDeps {
  arbiter: Actor<AnyStateMachine>;
  log: Logger;
  /** What the modem says (null without a modem): the agent holds the serial port, so status comes from here. */
  modem?: () => unknown;
  /** A config reload (`roamlink agent reload`, the unit's ExecReload); none: 404. */
  reload?: () => Promise<ReloadOutcome>;
  /** The running config's live fields, for status. */
  config?: () => unknown;
  /** The latest host health sample (null: none yet, or health is off). */
  health?: () => unknown;
}

export function buildControlApp({ arbiter, modem, log, reload, config, health }: ControlDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  installErrorHandling(app, { log, surface: 'agent control' });

  app.get('/v1/status', async () => {
    const v = arbiterView(arbiter);
    return { active: v.active, state: v.state, uplinks: Object.values(v.status), modem: modem?.() ?? null, policy: v.policy, site: v.site, config: config?.() ?? null, health: health?.() ?? null };
  });

  // 200 with the outcome whether applied or refused (the body says which): the agent runs on either way.
  if (reload) app.post('/v1/reload', async () => reload());

  app.get('/v1/modem', async (_req, reply) => {
    const m = modem?.() ?? null;
    return m ? m : sendError(reply, 'NO_MODEM', 'no modem configured');
  });

  app.post<{ Body: { to?: unknown } }>('/v1/switch', async (req, reply) => {
    const to = req.body?.to;
    if (typeof to !== 'string' || !/^[a-zA-Z0-9_.=+-]{1,15}$/.test(to)) {
      return sendError(reply, 'INVALID', 'must be an uplink name', 'to');
    }
    // Wait for this switch's outcome: done, or refused with a reason. The arbiter answers a request it refuses while
    // it takes it (during send); once our switch is under way, a refusal naming the same uplink is another request's
    // ("a switch is under way"), unless our switch is no longer pending (its steering failed).
    // An operator's switch is marked `operator` (its reason is the policy's rule: `forced`, or a failure rule that
    // happened to pick the same uplink).
    const ours = () => {
      const p = arbiterView(arbiter).pending;
      return p?.to === to && p.operator === true;
    };
    type Outcome = Extract<ArbiterEmitted, { type: 'switch.done' | 'switch.refused' }>;
    const outcome = await new Promise<Outcome>((resolve) => {
      let sent = false;
      const subs = [
        arbiter.on('switch.done', (e: { record: SwitchRecord }) => {
          if (e.record.to === to && e.record.operator === true) finish({ type: 'switch.done', record: e.record });
        }),
        arbiter.on('switch.refused', (e: { to: string; why: string }) => {
          if (e.to === to && (!sent || !ours())) finish({ type: 'switch.refused', to, why: e.why });
        }),
      ];
      const finish = (e: Outcome) => {
        subs.forEach((s) => s.unsubscribe());
        resolve(e);
      };
      arbiter.send({ type: 'operator.switch', to });
      sent = true;
    });
    if (outcome.type === 'switch.refused') return sendError(reply, 'SWITCH_REFUSED', outcome.why);
    return { switched: outcome.record };
  });

  return app;
}

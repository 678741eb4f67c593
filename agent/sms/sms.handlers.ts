// What SMS commands ask of the agent (an interface the agent implements) and the reply texts they get.
import type { SmsCommand } from './sms.command.js';

export interface UplinkSnapshot {
  name: string;
  kind: 'wifi' | 'lte' | 'ethernet';
  /** The uplink machine's state, e.g. active, standby, scanning, down. */
  state: string;
  /** dBm: Wi-Fi signal, or RSRP for LTE. */
  signalDbm?: number;
  /** SSID for Wi-Fi, operator for LTE. */
  network?: string;
}

export interface AgentSnapshot {
  vehicle: string;
  active?: string;
  uplinks: UplinkSnapshot[];
  tunnel: { up: boolean; rttMs?: number };
  balance?: { amount: number; currency?: string };
}

export interface CommandOutcome {
  ok: boolean;
  /** Short, for the reply SMS. */
  message: string;
}

/**
 * The agent's side of SMS commands. Each call is a request; the agent does what it would do for the same
 * request from its CLI (a switch is make-before-break like any other) and says briefly what happened.
 */
export interface SmsCommandHandlers {
  status(): Promise<AgentSnapshot>;
  switchUplink(uplink: string): Promise<CommandOutcome>;
  /** Bring up LTE and the tunnel now, whatever the policy would choose. */
  callHome(): Promise<CommandOutcome>;
  /** Reload the config (and site profiles) as on SIGHUP. */
  reload(): Promise<CommandOutcome>;
}

export function formatStatusReply(s: AgentSnapshot): string {
  const ups = s.uplinks.map((u) => {
    const sig = u.signalDbm !== undefined ? ` ${Math.round(u.signalDbm)}dBm` : '';
    return `${u.name}${u.name === s.active ? '*' : ''} ${u.state}${sig}`;
  });
  const tunnel = `tunnel ${s.tunnel.up ? 'up' : 'down'}${s.tunnel.up && s.tunnel.rttMs !== undefined ? ` ${Math.round(s.tunnel.rttMs)}ms` : ''}`;
  const bal = s.balance ? `; balance ${s.balance.amount.toFixed(2)}${s.balance.currency ? ` ${s.balance.currency}` : ''}` : '';
  return `roamlink ${s.vehicle}: active ${s.active ?? 'none'}; ${ups.join(', ')}; ${tunnel}${bal}`;
}

/** Runs one authorised command and returns the reply text. A failing handler becomes a reply, not a crash. */
export async function runSmsCommand(cmd: SmsCommand, h: SmsCommandHandlers): Promise<{ ok: boolean; reply: string }> {
  try {
    switch (cmd.verb) {
      case 'STATUS':
        return { ok: true, reply: formatStatusReply(await h.status()) };
      case 'SWITCH': {
        const r = await h.switchUplink(cmd.uplink);
        return { ok: r.ok, reply: `SWITCH ${cmd.uplink}: ${r.message}` };
      }
      case 'CALLHOME': {
        const r = await h.callHome();
        return { ok: r.ok, reply: `CALLHOME: ${r.message}` };
      }
      case 'RELOAD': {
        const r = await h.reload();
        return { ok: r.ok, reply: `RELOAD: ${r.message}` };
      }
    }
  } catch (err) {
    return { ok: false, reply: `${cmd.verb}: failed (${err instanceof Error ? err.message : String(err)})`.slice(0, 300) };
  }
}

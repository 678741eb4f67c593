// SMS alert policy: which alerts a snapshot of the vehicle calls for, level-triggered and rate-limited; pure, clock given.
import { emptyWindow, takeRate, type RateWindow } from './rate.js';

export type AlertKind = 'lte-fallback' | 'wifi-lost' | 'tunnel-down' | 'balance-low' | 'recovered';

/** The facts the policy looks at, taken from the agent at one instant. */
export interface AlertFacts {
  /** Name of the uplink carrying the tunnel, if any. */
  activeUplink?: string;
  activeKind?: 'wifi' | 'lte' | 'ethernet';
  /** Whether any Wi-Fi uplink is usable (associated and addressed). */
  wifiUp: boolean;
  tunnelUp: boolean;
  balance?: { amount: number; currency?: string };
}

export interface AlertPolicy {
  vehicle: string;
  wifiLostAfterMs: number;
  tunnelDownAfterMs: number;
  onLteFallback: boolean;
  onRecovery: boolean;
  /** The same kind is not sent again sooner than this. */
  minIntervalMs: number;
  maxPerHour: number;
  /** Balance below this raises balance-low. */
  lowBalance?: number;
}

/** What the policy remembers between snapshots (plain data). */
export interface AlertState {
  wifiDownSince?: number;
  tunnelDownSince?: number;
  /** Conditions an alert was sent for and not yet cleared. */
  raised: Partial<Record<Exclude<AlertKind, 'recovered'>, true>>;
  lastSent: Partial<Record<AlertKind, number>>;
  window: RateWindow;
}

export const initialAlertState: AlertState = { raised: {}, lastSent: {}, window: emptyWindow };

export interface Alert {
  kind: AlertKind;
  text: string;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m}min`;
  return `${Math.round(m / 60)}h`;
}

function text(kind: AlertKind, f: AlertFacts, st: AlertState, p: AlertPolicy, now: number): string {
  const on = f.activeUplink ? `on ${f.activeUplink}` : 'no uplink';
  const head = `roamlink ${p.vehicle}:`;
  switch (kind) {
    case 'lte-fallback': return `${head} fell back to LTE (${f.activeUplink ?? 'lte'}), no usable Wi-Fi. Tunnel ${f.tunnelUp ? 'up' : 'down'}.`;
    case 'wifi-lost': return `${head} all Wi-Fi lost for ${formatDuration(now - (st.wifiDownSince ?? now))}; ${on}.`;
    case 'tunnel-down': return `${head} tunnel to HQ down for ${formatDuration(now - (st.tunnelDownSince ?? now))}; ${on}.`;
    case 'balance-low': {
      const b = f.balance!;
      return `${head} prepaid balance low: ${b.amount.toFixed(2)}${b.currency ? ` ${b.currency}` : ''} (below ${p.lowBalance}).`;
    }
    case 'recovered': {
      const was = (Object.keys(st.raised) as AlertKind[]).filter((k) => k !== 'balance-low').join(', ');
      return `${head} back to normal: ${on}, tunnel up${was ? ` (after ${was})` : ''}.`;
    }
  }
}

/**
 * The alerts due now and the next state. Conditions are level-triggered: one that holds while its alert is
 * held back by a rate limit is sent once the limit allows, if it still holds. `recovered` is sent only after an
 * alert about the uplinks or the tunnel went out, once Wi-Fi (or wired) carries the tunnel again.
 */
export function decideAlerts(prev: AlertState, f: AlertFacts, p: AlertPolicy, now: number): { state: AlertState; alerts: Alert[] } {
  const st: AlertState = {
    ...prev,
    raised: { ...prev.raised },
    lastSent: { ...prev.lastSent },
    wifiDownSince: f.wifiUp ? undefined : (prev.wifiDownSince ?? now),
    tunnelDownSince: f.tunnelUp ? undefined : (prev.tunnelDownSince ?? now),
  };
  const alerts: Alert[] = [];
  const want: Array<Exclude<AlertKind, 'recovered'>> = [];
  const onLte = f.activeKind === 'lte';
  const normal = f.tunnelUp && (f.activeKind === 'wifi' || f.activeKind === 'ethernet');

  if (p.onLteFallback && onLte && !st.raised['lte-fallback']) want.push('lte-fallback');
  if (st.wifiDownSince !== undefined && now - st.wifiDownSince >= p.wifiLostAfterMs && !st.raised['wifi-lost']) want.push('wifi-lost');
  if (st.tunnelDownSince !== undefined && now - st.tunnelDownSince >= p.tunnelDownAfterMs && !st.raised['tunnel-down']) want.push('tunnel-down');
  const low = p.lowBalance !== undefined && f.balance !== undefined && f.balance.amount < p.lowBalance;
  if (low && !st.raised['balance-low']) want.push('balance-low');
  if (!low && f.balance !== undefined) delete st.raised['balance-low'];

  const send = (kind: AlertKind): boolean => {
    const last = st.lastSent[kind];
    if (last !== undefined && now - last < p.minIntervalMs) return false;
    const r = takeRate(st.window, now, p.maxPerHour, 3_600_000);
    st.window = r.window;
    if (!r.ok) return false;
    alerts.push({ kind, text: text(kind, f, st, p, now) });
    st.lastSent[kind] = now;
    return true;
  };

  const upOrTunnel = st.raised['lte-fallback'] || st.raised['wifi-lost'] || st.raised['tunnel-down'];
  if (normal && upOrTunnel) {
    if (!p.onRecovery || send('recovered')) {
      delete st.raised['lte-fallback'];
      delete st.raised['wifi-lost'];
      delete st.raised['tunnel-down'];
    }
  }
  // Conditions that no longer hold and were never announced need no recovery message.
  for (const kind of want) if (send(kind)) st.raised[kind] = true;
  return { state: st, alerts };
}

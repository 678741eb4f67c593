// Adoption of a switch left half done (pure): the intents a killed process journaled and never completed, each
// completed (its steering took effect: the switch happened, HQ gets it once) or abandoned (it did not: no switch).
//
// An intent is journaled before the steering and completed at the confirmation (agent/journal/journal.ts). A process
// killed in between leaves it open. Whether the switch happened is read from facts, never from what the old process
// meant: the newest open intent happened if the steering found points at its uplink; an older one happened if the
// arbiter moved on from its uplink (the next switch's `from` is set only by a steering that succeeded).

export interface OpenIntent {
  id: string;
  from: string | null;
  to: string;
}

export interface IntentVerdict {
  id: string;
  do: 'complete' | 'abandon';
  /** One line for the log (and, when abandoned, kept with the intent). */
  why: string;
}

/** The verdict on each open intent (oldest first), given the uplink the found steering rule points at (null: none). */
export function settleIntents(open: readonly OpenIntent[], steeredTo: string | null): IntentVerdict[] {
  return open.map((i, k) => {
    const next = open[k + 1];
    const where = next ? `the next switch left from ${next.from ?? 'nothing'}` : `the steering found points at ${steeredTo ?? 'no uplink'}`;
    const happened = next ? next.from === i.to : steeredTo === i.to;
    return happened
      ? { id: i.id, do: 'complete', why: `switch ${i.from ?? '-'} -> ${i.to} was steered before the last process ended (${where}): completed unconfirmed` }
      : { id: i.id, do: 'abandon', why: `switch ${i.from ?? '-'} -> ${i.to} never took effect (${where}): no switch` };
  });
}

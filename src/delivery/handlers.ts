import type { EffectKind } from '../domain/effects.js';
import type { DeliveryOf } from '../ports.js';
import type { DeliveryFailure } from './failure.js';

/**
 * Delivers one kind of effect. Returns what to write when it succeeded (run in the same
 * transaction that removes the delivery), or throws a DeliveryFailure.
 */
export interface DeliveryHandler<K extends EffectKind> {
  deliver(delivery: DeliveryOf<K>): Promise<(() => Promise<void>) | void>;
  /**
   * When the other side will take this delivery (ms since epoch), for a destination with a
   * pace of its own (a Slack channel). Later than `now`: it waits until then without counting
   * as an attempt, and the lane goes on with other work meanwhile.
   */
  notBefore?(delivery: DeliveryOf<K>, now: number): Promise<number>;
  /** Called (inside a transaction) when the delivery failed; `final` when it will not be retried. */
  failed?(delivery: DeliveryOf<K>, failure: DeliveryFailure, final: boolean): Promise<void>;
}

/** One handler per kind of effect: a kind without one, or a misspelt one, does not compile. */
export type DeliveryHandlers = { [K in EffectKind]: DeliveryHandler<K> };

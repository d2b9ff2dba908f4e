import type { webApi } from '@slack/bolt';
import type { DeliveryHandler, DeliveryHandlers } from '../delivery/handlers.js';
import type { Pacer } from '../delivery/pacer.js';
import type { Check } from '../domain/check.js';
import { needsCard } from '../domain/rules.js';
import type { AuditPort, CheckPort } from '../ports.js';
import { renderCard } from './card.js';
import { explainSlackError } from './errors.js';

export interface CardDeliveryOptions {
  client: webApi.WebClient;
  store: Pick<CheckPort, 'getCheck' | 'setCard' | 'setCardError'> & Pick<AuditPort, 'audit'>;
  clock: () => Date;
  /** The channel a check's card goes to (the rule's). */
  channelFor: (check: Check) => string;
  /** The check's history page, for the card once decided; null when PUBLIC_URL is unknown. */
  historyUrl?: (checkId: number) => string | null;
  /** The freeze holding the check's approvals now (its reason, and whether anyone may break glass), or null. */
  freezeOf?: (check: Check) => { reason: string; breakGlass: boolean } | null;
  /** Cards per channel at the pace Slack takes them (about one a second); none: as fast as Slack answers. */
  pacer?: Pacer;
}

/** Posting and updating cards: the Slack lane of the outbox. */
export function cardDeliveries({ client, store, clock, channelFor, historyUrl = () => null, freezeOf = () => null, pacer }: CardDeliveryOptions): Pick<DeliveryHandlers, 'post_card' | 'update_card'> {
  const postCard: DeliveryHandler<'post_card'> = {
    // Slack takes about one message a second per channel: wait for the channel's slot rather
    // than post until it answers 429, and let cards for other channels go meanwhile.
    async notBefore({ id, checkId }, now) {
      if (!pacer) return now;
      const check = await store.getCheck(checkId);
      if (!check || check.slackTs !== null || !needsCard(check)) {
        pacer.release(id);
        return now;
      }
      return pacer.slot(channelFor(check), id, now);
    },
    async deliver({ checkId }) {
      const check = await store.getCheck(checkId);
      // Already posted, or ended before its turn came (a newer push, closed, merged): nobody needs it.
      if (!check || check.slackTs !== null || !needsCard(check)) return;
      const card = renderCard(check, { history: historyUrl(check.id), ...frozen(freezeOf(check)) });
      let result;
      try {
        result = await client.chat.postMessage({ channel: channelFor(check), ...card, unfurl_links: false, unfurl_media: false });
      } catch (error) {
        throw explainSlackError(error);
      }
      const { channel, ts } = result;
      if (!channel || !ts) return;
      return async () => {
        await store.setCard(checkId, channel, ts, clock());
        await store.audit({ checkId, event: 'card_posted', sha: check.sha, detail: `channel ${channel}` }, clock());
      };
    },
    async failed({ checkId }, failure, final) {
      if (!final) return;
      await store.setCardError(checkId, `The card could not be posted: ${failure.message}`, clock());
      await store.audit({ checkId, event: 'card_failed', detail: failure.message }, clock());
    },
  };

  const updateCard: DeliveryHandler<'update_card'> = {
    async deliver({ checkId }) {
      const check = await store.getCheck(checkId);
      // No card (never posted, or a card that could not be posted): nothing to update.
      if (!check?.slackChannel || !check.slackTs) return;
      try {
        await client.chat.update({ channel: check.slackChannel, ts: check.slackTs, ...renderCard(check, { history: historyUrl(check.id), ...frozen(freezeOf(check)) }) });
      } catch (error) {
        throw explainSlackError(error);
      }
    },
  };

  return { post_card: postCard, update_card: updateCard };
}

function frozen(freeze: { reason: string; breakGlass: boolean } | null): { freeze: string | null; breakGlass: boolean } {
  return { freeze: freeze?.reason ?? null, breakGlass: freeze?.breakGlass ?? false };
}

import type { webApi } from '@slack/bolt';
import type { DeliveryHandler, DeliveryHandlers } from '../delivery/handlers.js';
import type { Pacer } from '../delivery/pacer.js';
import type { Check } from '../domain/check.js';
import type { Rule } from '../domain/policy.js';
import { age } from '../domain/schedule.js';
import type { AuditPort, CheckPort } from '../ports.js';
import { explainSlackError } from './errors.js';
import { escape, link, truncate } from './mrkdwn.js';

export interface NudgeDeliveryOptions {
  client: webApi.WebClient;
  store: Pick<CheckPort, 'getCheck'> & Pick<AuditPort, 'audit'>;
  clock: () => Date;
  /** The rule as written: its approvers and escalate_to. */
  ruleFor: (check: Check) => Rule;
  /** The cards' pacer: reminders and escalations count against the same channel's pace. */
  pacer?: Pacer;
}

/** Users as `<@U…>`, user groups as `<!subteam^S…>`: Slack notifies both. */
export function mentions(ids: readonly string[]): string {
  return ids.map((id) => (id.startsWith('S') ? `<!subteam^${id}>` : `<@${id}>`)).join(' ');
}

/** A link to a Slack message that works without an API call. */
const cardLink = (channel: string, ts: string) => `https://slack.com/archives/${channel}/p${ts.replace('.', '')}`;

const what = (check: Check) => `${link(check.url, `${check.projectPath}!${check.mergeRequestIid}`)} ${escape(truncate(check.title, 200))}`;

/** Reminders in the card's thread and the escalation message: Slack lane, after the card. */
export function nudgeDeliveries({ client, store, clock, ruleFor, pacer }: NudgeDeliveryOptions): Pick<DeliveryHandlers, 'remind' | 'escalate' | 'break_glass_notice'> {
  const post = async (args: { channel: string; text: string; thread_ts?: string }) => {
    try {
      await client.chat.postMessage({ ...args, unfurl_links: false, unfurl_media: false });
    } catch (error) {
      throw explainSlackError(error);
    }
  };

  /** When a message to `channel` may go (null: nothing will be posted, so no slot is taken). */
  const paced = (id: number, channel: string | null, now: number) => {
    if (!pacer || channel === null) {
      pacer?.release(id);
      return now;
    }
    return pacer.slot(channel, id, now);
  };

  const remind: DeliveryHandler<'remind'> = {
    async notBefore({ id, checkId }, now) {
      const check = await store.getCheck(checkId);
      return paced(id, check?.state === 'pending' && check.slackTs ? check.slackChannel : null, now);
    },
    async deliver({ checkId, payload }) {
      const check = await store.getCheck(checkId);
      // Decided, superseded or closed meanwhile, or no card to reply to: nothing to say.
      if (!check || check.state !== 'pending' || !check.slackChannel || !check.slackTs) return;
      const rule = ruleFor(check);
      const who = rule.approvers.slack.length ? mentions(rule.approvers.slack) : 'Approvers';
      const { waitedMs } = payload;
      await post({
        channel: check.slackChannel,
        thread_ts: check.slackTs,
        text: `:bell: ${who}: ${what(check)} has waited ${age(waitedMs)} for a decision. Approve or reject it on the card above.`,
      });
      return () => store.audit({ checkId, event: 'reminder_posted', sha: check.sha }, clock());
    },
  };

  const escalate: DeliveryHandler<'escalate'> = {
    async notBefore({ id, checkId }, now) {
      const check = await store.getCheck(checkId);
      const rule = check?.state === 'pending' ? ruleFor(check) : null;
      const to = rule?.reminders?.escalateTo;
      return paced(id, check && rule && to ? (to.channel ?? check.slackChannel ?? rule.channel) : null, now);
    },
    async deliver({ checkId, payload }) {
      const check = await store.getCheck(checkId);
      if (!check || check.state !== 'pending') return;
      const rule = ruleFor(check);
      const to = rule.reminders?.escalateTo;
      const channel = to?.channel ?? check.slackChannel ?? rule.channel;
      if (!to) return;
      const { waitedMs } = payload;
      const people = [mentions(to.slack), ...to.gitlab.map((u) => `@${escape(u)} (on the web list, signed in with GitLab)`)].filter(Boolean).join(', ');
      const card = check.slackChannel && check.slackTs ? ` ${link(cardLink(check.slackChannel, check.slackTs), 'Open the card')}.` : '';
      await post({
        channel,
        text: `:rotating_light: *Escalated*: ${what(check)} has waited ${age(waitedMs)} for a decision. ${people || 'You'} may now approve or reject it too.${card}`,
      });
      return () => store.audit({ checkId, event: 'escalation_posted', sha: check.sha, detail: `channel ${channel}` }, clock());
    },
  };

  /** Someone approved during a freeze: the escalation channel hears of it. */
  const breakGlassNotice: DeliveryHandler<'break_glass_notice'> = {
    notBefore: ({ id, payload }, now) => Promise.resolve(paced(id, payload.channel, now)),
    async deliver({ checkId, payload }) {
      const check = await store.getCheck(checkId);
      if (!check) return;
      const notice = payload;
      const by = notice.via === 'slack' && /^[UW][A-Z0-9]+$/.test(notice.by) ? `<@${notice.by}>` : `${escape(notice.by)} (web)`;
      const quoted = escape(truncate(notice.reason, 1500)).replace(/\n/g, '\n>');
      await post({
        channel: notice.channel,
        text: `:rotating_light: *Emergency approval* during the freeze “${escape(truncate(notice.freeze, 300))}”: ${what(check)} was approved by ${by}.\n>${quoted}`,
      });
    },
  };

  return { remind, escalate, break_glass_notice: breakGlassNotice };
}

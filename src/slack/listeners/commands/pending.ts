import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { replyText } from '../../mrkdwn.js';
import { PENDING_LIST_LIMIT, renderPendingList } from '../../pending-list.js';
import type { ListenerDeps } from '../types.js';

/**
 * `/pending`: what still waits for a decision, only to the person who asked. Slack is answered
 * at once; the list, which needs look-ups (user groups), follows through the response_url.
 */
export const listPending =
  ({ gate, clock, webListUrl }: ListenerDeps) =>
  async ({ ack, command, respond, logger }: AllMiddlewareArgs & SlackCommandMiddlewareArgs): Promise<void> => {
    await ack();
    // Only what this person may decide: other teams' merge requests stay with their approvers.
    const actor = { via: 'slack' as const, id: command.user_id, name: command.user_name };
    let answer;
    let total = 0;
    try {
      const pending = await gate.pendingFor(actor, PENDING_LIST_LIMIT);
      total = pending.total;
      answer = renderPendingList(pending.checks, total, clock(), webListUrl, (check) => gate.freezeOf(check)?.reason ?? null);
    } catch (error) {
      logger.warn(`could not list pending checks: ${(error as Error).message}`);
      answer = { text: 'The list of pending checks could not be read just now; try again in a minute, or use the web list.' };
    }
    try {
      await respond({ response_type: 'ephemeral', ...answer });
    } catch (error) {
      // Slack refused the list itself (a Block Kit limit): the person still learns how many wait, and where.
      if (!('blocks' in answer)) throw error;
      logger.warn(`Slack refused the /pending list: ${(error as Error).message}`);
      const where = webListUrl ? `: ${webListUrl}` : ' on the web list';
      await respond({ response_type: 'ephemeral', text: replyText(`${total} check${total === 1 ? '' : 's'} waiting for a decision; Slack could not show the list, see it${where}`) });
    }
  };

import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
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
    try {
      const { checks, total } = await gate.pendingFor(actor, PENDING_LIST_LIMIT);
      answer = renderPendingList(checks, total, clock(), webListUrl, (check) => gate.freezeOf(check)?.reason ?? null);
    } catch (error) {
      logger.warn(`could not list pending checks: ${(error as Error).message}`);
      answer = { text: 'The list of pending checks could not be read just now; try again in a minute, or use the web list.' };
    }
    await respond({ response_type: 'ephemeral', ...answer });
  };

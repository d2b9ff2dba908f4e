import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { PENDING_LIST_LIMIT, renderPendingList } from '../../pending-list.js';
import type { ListenerDeps } from '../types.js';

/** `/pending`: what still waits for a decision, only to the person who asked. */
export const listPending =
  ({ gate, clock, webListUrl }: ListenerDeps) =>
  async ({ ack, command }: AllMiddlewareArgs & SlackCommandMiddlewareArgs): Promise<void> => {
    // Only what this person may decide: other teams' merge requests stay with their approvers.
    const actor = { via: 'slack' as const, id: command.user_id, name: command.user_name };
    const { checks, total } = await gate.pendingFor(actor, PENDING_LIST_LIMIT);
    await ack({ response_type: 'ephemeral', ...renderPendingList(checks, total, clock(), webListUrl, (check) => gate.freezeOf(check)?.reason ?? null) });
  };

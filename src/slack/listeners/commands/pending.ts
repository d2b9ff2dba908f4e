import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { PENDING_LIST_LIMIT, renderPendingList } from '../../pending-list.js';
import type { ListenerDeps } from '../types.js';

/** `/pending`: what still waits for a decision, only to the person who asked. */
export const listPending =
  ({ gate, clock, webListUrl }: ListenerDeps) =>
  async ({ ack }: AllMiddlewareArgs & SlackCommandMiddlewareArgs): Promise<void> => {
    const { checks, total } = gate.pending(PENDING_LIST_LIMIT);
    await ack({ response_type: 'ephemeral', ...renderPendingList(checks, total, clock(), webListUrl) });
  };

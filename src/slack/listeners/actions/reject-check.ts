import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { slackActor, type ListenerDeps } from '../types.js';
import { reasonModal } from '../views/reason-modal.js';

/** Someone clicked Reject: ask for a reason in a modal (the decision is made on submit). */
export const rejectCheck =
  ({ gate }: ListenerDeps) =>
  async ({ ack, body, action, respond, client }: AllMiddlewareArgs & SlackActionMiddlewareArgs<BlockButtonAction>): Promise<void> => {
    await ack();
    const result = await gate.precheck(Number(action.value), slackActor(body.user), 'reject');
    if (!result.ok) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
      return;
    }
    await client.views.open({ trigger_id: body.trigger_id, view: reasonModal('reject', result.check) });
  };

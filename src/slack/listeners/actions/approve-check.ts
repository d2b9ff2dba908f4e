import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { slackActor, type ListenerDeps } from '../types.js';

/** Someone clicked Approve on a card or in the `/pending` list. */
export const approveCheck =
  ({ gate }: ListenerDeps) =>
  async ({ ack, body, action, respond }: AllMiddlewareArgs & SlackActionMiddlewareArgs<BlockButtonAction>): Promise<void> => {
    await ack();
    const result = await gate.decide(Number(action.value), 'approve', slackActor(body.user));
    if (!result.ok) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
    } else if (body.container?.is_ephemeral) {
      // Clicked in the /pending list: the card in the channel changes; tell the clicker here.
      await respond({ response_type: 'ephemeral', replace_original: false, text: `You approved ${result.check.projectPath}!${result.check.mergeRequestIid}.` });
    }
  };

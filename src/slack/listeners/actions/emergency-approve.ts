import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { slackActor, type ListenerDeps } from '../types.js';
import { breakGlassModal } from '../views/break-glass-modal.js';

/** Someone clicked Emergency approve during a freeze: ask for the reason (decided on submit). */
export const emergencyApprove =
  ({ gate }: ListenerDeps) =>
  async ({ ack, body, action, respond, client }: AllMiddlewareArgs & SlackActionMiddlewareArgs<BlockButtonAction>): Promise<void> => {
    await ack();
    const result = await gate.emergencyPrecheck(Number(action.value), slackActor(body.user));
    if (!result.ok) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
      return;
    }
    await client.views.open({ trigger_id: body.trigger_id, view: breakGlassModal(result.check, gate.freezeOf(result.check)?.reason ?? '') });
  };

import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { slackActor, type ListenerDeps } from '../types.js';
import { reasonModal } from '../views/reason-modal.js';

/** Someone clicked Approve on a card or in the `/pending` list. */
export const approveCheck =
  ({ gate }: ListenerDeps) =>
  async ({ ack, body, action, respond, client }: AllMiddlewareArgs & SlackActionMiddlewareArgs<BlockButtonAction>): Promise<void> => {
    const checkId = Number(action.value);
    const actor = slackActor(body.user);
    if (gate.wantsApprovalComment(checkId)) {
      await ack();
      const allowed = await gate.precheck(checkId, actor, 'approve');
      if (!allowed.ok) await respond({ response_type: 'ephemeral', replace_original: false, text: allowed.message });
      else await client.views.open({ trigger_id: body.trigger_id, view: reasonModal('approve', allowed.check) });
      return;
    }
    // Slack is told the click arrived only once it is written down (decide calls ack).
    const result = await gate.decide(checkId, 'approve', actor, null, async () => {
      await ack();
    });
    if (!result.ok) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
    } else if (result.counted) {
      const { approvals, approvalsRequired } = result.check;
      await respond({ response_type: 'ephemeral', replace_original: false, text: `Your approval is counted: ${approvals.length} of ${approvalsRequired}.` });
    } else if (body.container?.is_ephemeral) {
      // Clicked in the /pending list: the card in the channel changes; tell the clicker here.
      await respond({ response_type: 'ephemeral', replace_original: false, text: `You approved ${result.check.projectPath}!${result.check.mergeRequestIid}.` });
    }
  };

import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { replyText } from '../../mrkdwn.js';
import { slackActor, type ListenerDeps } from '../types.js';
import { openReasonModal } from './open-reason-modal.js';

/** Someone clicked Approve on a card or in the `/pending` list. */
export const approveCheck =
  (deps: ListenerDeps) =>
  async (args: AllMiddlewareArgs & SlackActionMiddlewareArgs<BlockButtonAction>): Promise<void> => {
    const { gate } = deps;
    const { ack, body, action, respond } = args;
    const checkId = Number(action.value);
    if (await gate.wantsApprovalComment(checkId)) {
      await openReasonModal('approve', deps, args);
      return;
    }
    const actor = slackActor(body.user);
    // Slack is told the click arrived only once it is written down (decide calls ack).
    const result = await gate.decide(checkId, 'approve', actor, null, async () => {
      await ack();
    });
    if (!result.ok) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: replyText(result.message) });
    } else if (result.counted) {
      const { approvals, approvalsRequired } = result.check;
      await respond({ response_type: 'ephemeral', replace_original: false, text: replyText(`Your approval is counted: ${approvals.length} of ${approvalsRequired}.`) });
    } else if (body.container?.is_ephemeral) {
      // Clicked in the /pending list: the card in the channel changes; tell the clicker here.
      await respond({ response_type: 'ephemeral', replace_original: false, text: replyText(`You approved ${result.check.projectPath}!${result.check.mergeRequestIid}.`) });
    }
  };

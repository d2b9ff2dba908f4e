import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction, types } from '@slack/bolt';
import type { Check } from '../../../domain/check.js';
import { MAX_REASON_LENGTH } from '../../../domain/rules.js';
import { fit } from '../../mrkdwn.js';
import { slackActor, type ListenerDeps } from '../types.js';
import { answerSubmission, REASON_BLOCK, REASON_INPUT, type ModalMetadata } from './reason-modal.js';

export const BREAK_GLASS_VIEW = 'break_glass_reason';

/** Always asks why: the reason goes on the merge request and into the audit trail. */
export function breakGlassModal(check: Check, freeze: string, channel?: string): types.ModalView {
  return {
    type: 'modal',
    callback_id: BREAK_GLASS_VIEW,
    private_metadata: JSON.stringify({ checkId: check.id, ...(channel ? { channel } : {}) } satisfies ModalMetadata),
    title: { type: 'plain_text', text: 'Emergency approval' },
    submit: { type: 'plain_text', text: 'Approve anyway' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `*${fit(check.projectPath, 300)}!${check.mergeRequestIid}* ${fit(check.title, 1300)}\n:snowflake: Frozen: ${fit(freeze, 1000)}. Your approval passes the check now; it is audited as break glass and your reason is posted on the merge request.`,
        },
      },
      {
        type: 'input',
        block_id: REASON_BLOCK,
        label: { type: 'plain_text', text: 'Why it cannot wait (posted on the merge request)' },
        element: { type: 'plain_text_input', action_id: REASON_INPUT, multiline: true, max_length: MAX_REASON_LENGTH },
      },
    ],
  };
}

/** The reason was submitted: approve during the freeze (taken in first, decided after Slack is answered). */
export const decideBreakGlass =
  ({ gate }: ListenerDeps) =>
  (args: AllMiddlewareArgs & SlackViewMiddlewareArgs<ViewSubmitAction>): Promise<void> =>
    answerSubmission(args, (checkId, reason, acknowledge) => gate.emergencyApprove(checkId, slackActor(args.body.user), reason, acknowledge));

import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction, types } from '@slack/bolt';
import type { Check } from '../../../domain/check.js';
import { MAX_REASON_LENGTH } from '../../../domain/rules.js';
import { escape, truncate } from '../../mrkdwn.js';
import { slackActor, type ListenerDeps } from '../types.js';

export const BREAK_GLASS_VIEW = 'break_glass_reason';
const REASON_BLOCK = 'reason';
const REASON_INPUT = 'reason_input';

/** Always asks why: the reason goes on the merge request and into the audit trail. */
export function breakGlassModal(check: Check, freeze: string): types.ModalView {
  return {
    type: 'modal',
    callback_id: BREAK_GLASS_VIEW,
    private_metadata: JSON.stringify({ checkId: check.id }),
    title: { type: 'plain_text', text: 'Emergency approval' },
    submit: { type: 'plain_text', text: 'Approve anyway' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `*${escape(check.projectPath)}!${check.mergeRequestIid}* ${escape(truncate(check.title, 200))}\n:snowflake: Frozen: ${escape(truncate(freeze, 300))}. Your approval passes the check now; it is audited as break glass and your reason is posted on the merge request.`,
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

/** The reason was submitted: approve during the freeze, or show why not in the modal. */
export const decideBreakGlass =
  ({ gate }: ListenerDeps) =>
  async ({ ack, body, view }: AllMiddlewareArgs & SlackViewMiddlewareArgs<ViewSubmitAction>): Promise<void> => {
    let checkId = NaN;
    try {
      checkId = Number((JSON.parse(view.private_metadata) as { checkId?: unknown }).checkId);
    } catch {
      // handled below: NaN finds no check
    }
    const reason = view.state.values[REASON_BLOCK]?.[REASON_INPUT]?.value ?? null;
    const result = await gate.emergencyApprove(checkId, slackActor(body.user), reason);
    if (result.ok) await ack();
    else await ack({ response_action: 'errors', errors: { [REASON_BLOCK]: result.message } });
  };

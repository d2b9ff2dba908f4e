import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction, types } from '@slack/bolt';
import type { Check } from '../../../domain/check.js';
import { MAX_REASON_LENGTH } from '../../../domain/rules.js';
import { escape, truncate } from '../../mrkdwn.js';
import { slackActor, type ListenerDeps } from '../types.js';

export const REJECT_VIEW = 'reject_reason';
const REASON_BLOCK = 'reason';
const REASON_INPUT = 'reason_input';

export function rejectReasonModal(check: Check): types.ModalView {
  return {
    type: 'modal',
    callback_id: REJECT_VIEW,
    private_metadata: JSON.stringify({ checkId: check.id }),
    title: { type: 'plain_text', text: 'Reject merge request' },
    submit: { type: 'plain_text', text: 'Reject' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `*${escape(check.projectPath)}!${check.mergeRequestIid}* ${escape(truncate(check.title, 200))}` },
      },
      {
        type: 'input',
        block_id: REASON_BLOCK,
        optional: true,
        label: { type: 'plain_text', text: 'Reason (shown to the author)' },
        element: { type: 'plain_text_input', action_id: REASON_INPUT, multiline: true, max_length: MAX_REASON_LENGTH },
      },
    ],
  };
}

/** The reject modal was submitted: record the rejection with its reason. */
export const rejectWithReason =
  ({ gate }: ListenerDeps) =>
  async ({ ack, body, view }: AllMiddlewareArgs & SlackViewMiddlewareArgs<ViewSubmitAction>): Promise<void> => {
    let checkId = NaN;
    try {
      checkId = Number((JSON.parse(view.private_metadata) as { checkId?: unknown }).checkId);
    } catch {
      // handled below: NaN finds no check
    }
    const reason = view.state.values[REASON_BLOCK]?.[REASON_INPUT]?.value ?? null;
    const result = await gate.decide(checkId, 'reject', slackActor(body.user), reason);
    if (result.ok) await ack();
    else await ack({ response_action: 'errors', errors: { [REASON_BLOCK]: result.message } });
  };

import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction, types } from '@slack/bolt';
import type { Check, Outcome } from '../../../domain/check.js';
import { MAX_REASON_LENGTH } from '../../../domain/rules.js';
import { escape, truncate } from '../../mrkdwn.js';
import { slackActor, type ListenerDeps } from '../types.js';

/** Modal callback ids: a rejection's reason, an approval's comment. */
export const REASON_VIEWS: Record<Outcome, string> = { reject: 'reject_reason', approve: 'approve_comment' };
const REASON_BLOCK = 'reason';
const REASON_INPUT = 'reason_input';

const WORDS: Record<Outcome, { title: string; submit: string; label: string; optional: boolean }> = {
  reject: { title: 'Reject merge request', submit: 'Reject', label: 'Reason (posted on the merge request)', optional: true },
  approve: { title: 'Approve merge request', submit: 'Approve', label: 'Comment (posted on the merge request)', optional: false },
};

export function reasonModal(outcome: Outcome, check: Check): types.ModalView {
  const words = WORDS[outcome];
  return {
    type: 'modal',
    callback_id: REASON_VIEWS[outcome],
    private_metadata: JSON.stringify({ checkId: check.id }),
    title: { type: 'plain_text', text: words.title },
    submit: { type: 'plain_text', text: words.submit },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `*${escape(check.projectPath)}!${check.mergeRequestIid}* ${escape(truncate(check.title, 200))}` },
      },
      {
        type: 'input',
        block_id: REASON_BLOCK,
        optional: words.optional,
        label: { type: 'plain_text', text: words.label },
        element: { type: 'plain_text_input', action_id: REASON_INPUT, multiline: true, max_length: MAX_REASON_LENGTH },
      },
    ],
  };
}

/** The modal was submitted: record the decision with its reason or comment. */
export const decideWithReason =
  (outcome: Outcome, { gate }: ListenerDeps) =>
  async ({ ack, body, view }: AllMiddlewareArgs & SlackViewMiddlewareArgs<ViewSubmitAction>): Promise<void> => {
    let checkId = NaN;
    try {
      checkId = Number((JSON.parse(view.private_metadata) as { checkId?: unknown }).checkId);
    } catch {
      // handled below: NaN finds no check
    }
    // Lone surrogates become U+FFFD before the reason is stored or sent on.
    const reason = view.state.values[REASON_BLOCK]?.[REASON_INPUT]?.value?.toWellFormed() ?? null;
    // Decided before the ack, so a refusal can be shown in the modal itself.
    const result = await gate.decide(checkId, outcome, slackActor(body.user), reason);
    if (result.ok) await ack();
    else await ack({ response_action: 'errors', errors: { [REASON_BLOCK]: result.message } });
  };

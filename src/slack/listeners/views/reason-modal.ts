import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction, types } from '@slack/bolt';
import type { Check, Outcome } from '../../../domain/check.js';
import { MAX_REASON_LENGTH } from '../../../domain/rules.js';
import { fit, replyText } from '../../mrkdwn.js';
import type { DecideResult } from '../../../gate.js';
import { slackActor, type ListenerDeps } from '../types.js';
import { storable } from '../../../well-formed.js';

/** Modal callback ids: a rejection's reason, an approval's comment. */
export const REASON_VIEWS: Record<Outcome, string> = { reject: 'reject_reason', approve: 'approve_comment' };
export const REASON_BLOCK = 'reason';
export const REASON_INPUT = 'reason_input';

const WORDS: Record<Outcome, { title: string; submit: string; label: string; optional: boolean }> = {
  reject: { title: 'Reject merge request', submit: 'Reject', label: 'Reason (posted on the merge request)', optional: true },
  approve: { title: 'Approve merge request', submit: 'Approve', label: 'Comment (posted on the merge request)', optional: false },
};

/** What the modal carries to its submission: the check, and the channel the person clicked in. */
export interface ModalMetadata {
  checkId: number;
  channel?: string;
}

export function reasonModal(outcome: Outcome, check: Check, channel?: string): types.ModalView {
  const words = WORDS[outcome];
  const metadata: ModalMetadata = { checkId: check.id, ...(channel ? { channel } : {}) };
  return {
    type: 'modal',
    callback_id: REASON_VIEWS[outcome],
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text', text: words.title },
    submit: { type: 'plain_text', text: words.submit },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `*${fit(check.projectPath, 300)}!${check.mergeRequestIid}* ${fit(check.title, 1200)}` },
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

/** What an opened modal turns into when the person turns out not to be allowed: the reason, no submit. */
export function refusalModal(message: string): types.ModalView {
  return {
    type: 'modal',
    title: { type: 'plain_text', text: 'Not recorded' },
    close: { type: 'plain_text', text: 'Close' },
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `:no_entry: ${fit(message, 2900)}` } }],
  };
}

export function readMetadata(raw: string): ModalMetadata {
  try {
    const parsed = JSON.parse(raw) as { checkId?: unknown; channel?: unknown };
    return { checkId: Number(parsed.checkId), channel: typeof parsed.channel === 'string' ? parsed.channel : undefined };
  } catch {
    return { checkId: NaN }; // finds no check: refused below
  }
}

type SubmitArgs = AllMiddlewareArgs & SlackViewMiddlewareArgs<ViewSubmitAction>;

/**
 * A modal with a reason was submitted. `decide` writes the request down, then calls back to
 * answer Slack (the modal closes) before the policy's look-ups, which may take longer than
 * Slack's 3 seconds; a refusal after that reaches the person as an ephemeral message in the
 * channel they clicked in, or else in the card's channel. A refusal before it (a missing comment or reason) is shown next to
 * the field, to correct.
 */
export async function answerSubmission(
  { ack, body, view, client, logger }: SubmitArgs,
  decide: (checkId: number, reason: string | null, acknowledge: () => Promise<void>) => Promise<DecideResult>,
): Promise<void> {
  const { checkId, channel } = readMetadata(view.private_metadata);
  // Lone surrogates become U+FFFD before the reason is stored or sent on.
  const typed = view.state.values[REASON_BLOCK]?.[REASON_INPUT]?.value;
  const reason = typed == null ? null : storable(typed);
  let acked = false;
  const result = await decide(checkId, reason, async () => {
    acked = true;
    await ack();
  });
  if (!acked) {
    if (!result.ok) await ack({ response_action: 'errors', errors: { [REASON_BLOCK]: result.message } });
    else await ack();
    return;
  }
  let text: string | null = null;
  if (!result.ok) text = `Nothing was recorded: ${result.message}`;
  else if (result.counted) text = `Your approval is counted: ${result.check.approvals.length} of ${result.check.approvalsRequired}.`;
  if (text === null) return;
  // Where they clicked first; the card's channel, where the bot surely is, when the click came
  // from a /pending list in a channel the bot is not in.
  const where = [...new Set([channel, result.check?.slackChannel].filter((c): c is string => Boolean(c)))];
  if (!where.length) logger.warn(`could not tell ${body.user.id} about check ${String(checkId)}: no channel to answer in`);
  for (const [i, place] of where.entries()) {
    try {
      await client.chat.postEphemeral({ channel: place, user: body.user.id, text: replyText(text) });
      return;
    } catch (error) {
      const next = i + 1 < where.length ? '; trying the card’s channel' : '';
      logger.warn(`could not tell ${body.user.id} about check ${String(checkId)} in ${place}: ${(error as Error).message}${next}`);
    }
  }
}

/** The reject or approve-with-comment modal was submitted: record the decision with its reason or comment. */
export const decideWithReason =
  (outcome: Outcome, { gate }: ListenerDeps) =>
  (args: SubmitArgs): Promise<void> =>
    answerSubmission(args, (checkId, reason, acknowledge) => gate.decide(checkId, outcome, slackActor(args.body.user), reason, acknowledge));

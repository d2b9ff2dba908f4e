import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { Outcome } from '../../../domain/check.js';
import { replyText } from '../../mrkdwn.js';
import { slackActor, type ListenerDeps } from '../types.js';
import { reasonModal, refusalModal } from '../views/reason-modal.js';

/** views.open's answers for a trigger_id that had expired or was used. */
const TRIGGER_ERRORS = new Set(['expired_trigger_id', 'exchanged_trigger_id', 'invalid_trigger_id']);

type ButtonArgs = AllMiddlewareArgs & SlackActionMiddlewareArgs<BlockButtonAction>;

/**
 * Asks for a reason (Reject) or a comment (approve with comment). Slack's trigger_id opens a
 * view only within 3 seconds of the click, so the modal opens first, from the database alone;
 * whether this person may decide (user groups, e-mails: look-ups that may be slow) is asked
 * after, and a refusal replaces the modal's form. The submission is checked again in full.
 */
export async function openReasonModal(outcome: Outcome, { gate }: ListenerDeps, { ack, body, action, respond, client, logger }: ButtonArgs): Promise<void> {
  await ack();
  const checkId = Number(action.value);
  const open = gate.openCheck(checkId);
  if (!open.ok) {
    await respond({ response_type: 'ephemeral', replace_original: false, text: replyText(open.message) });
    return;
  }
  const channel = body.channel?.id ?? body.container?.channel_id;
  let opened;
  try {
    opened = await client.views.open({ trigger_id: body.trigger_id, view: reasonModal(outcome, open.check, channel) });
  } catch (error) {
    const data = (error as { data?: { error?: string; response_metadata?: { messages?: string[] } } }).data;
    // Slack's messages name the field it refused, when it refused the view itself.
    const details = data?.response_metadata?.messages?.join('; ') ?? '';
    logger.warn(`could not open the ${outcome} modal for check ${checkId}: ${(error as Error).message}${details ? ` (${details})` : ''}`);
    const code = data?.error ?? '';
    // Only a trigger that came too late is helped by clicking again; anything else is the bot's to fix.
    const text = TRIGGER_ERRORS.has(code)
      ? 'Slack did not open the form (it allows only a few seconds): click the button again.'
      : `Slack did not open the form (${code || 'no answer'}), so nothing was recorded. Decide on the web list for now, and tell whoever runs the bot.`;
    await respond({ response_type: 'ephemeral', replace_original: false, text: replyText(text) });
    return;
  }

  const allowed = await gate.precheck(checkId, slackActor(body.user), outcome);
  if (allowed.ok) return;
  const viewId = opened.view?.id;
  try {
    if (!viewId) throw new Error('Slack gave no view id');
    await client.views.update({ view_id: viewId, view: refusalModal(allowed.message) });
  } catch (error) {
    // Closed or submitted already: say it in the channel instead.
    logger.debug(`could not replace the modal with the refusal: ${(error as Error).message}`);
    await respond({ response_type: 'ephemeral', replace_original: false, text: replyText(allowed.message) });
  }
}

import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs, types } from '@slack/bolt';
import type { Check, Outcome } from '../../../domain/check.js';
import type { DecideResult } from '../../../gate.js';
import { replyText } from '../../mrkdwn.js';
import { slackActor, type ListenerDeps } from '../types.js';
import { breakGlassModal } from '../views/break-glass-modal.js';
import { reasonModal, refusalModal } from '../views/reason-modal.js';

/** views.open's answers for a trigger_id that had expired or was used. */
const TRIGGER_ERRORS = new Set(['expired_trigger_id', 'exchanged_trigger_id', 'invalid_trigger_id']);

type ButtonArgs = AllMiddlewareArgs & SlackActionMiddlewareArgs<BlockButtonAction>;

interface ModalFirst {
  /** What the database alone says: the check, or why there is nothing to decide. */
  open: (checkId: number) => Promise<DecideResult>;
  view: (check: Check, channel: string | undefined) => types.ModalView;
  /** The slower test of whether this person may decide (user groups, e-mails). */
  allowed: (checkId: number) => Promise<DecideResult>;
  what: string;
}

/**
 * Slack's trigger_id opens a view only within 3 seconds of the click, so the modal opens
 * first, from the database alone; whether this person may decide (look-ups that may be slow)
 * is asked after, and a refusal replaces the modal's form. The submission is checked again in full.
 */
async function openModalFirst({ open, view, allowed, what }: ModalFirst, { ack, body, action, respond, client, logger }: ButtonArgs): Promise<void> {
  await ack();
  const checkId = Number(action.value);
  const found = await open(checkId);
  if (!found.ok) {
    await respond({ response_type: 'ephemeral', replace_original: false, text: replyText(found.message) });
    return;
  }
  const channel = body.channel?.id ?? body.container?.channel_id;
  let opened;
  try {
    opened = await client.views.open({ trigger_id: body.trigger_id, view: view(found.check, channel) });
  } catch (error) {
    const data = (error as { data?: { error?: string; response_metadata?: { messages?: string[] } } }).data;
    // Slack's messages name the field it refused, when it refused the view itself.
    const details = data?.response_metadata?.messages?.join('; ') ?? '';
    logger.warn(`could not open the ${what} modal for check ${checkId}: ${(error as Error).message}${details ? ` (${details})` : ''}`);
    const code = data?.error ?? '';
    // Only a trigger that came too late is helped by clicking again; anything else is the bot's to fix.
    const text = TRIGGER_ERRORS.has(code)
      ? 'Slack did not open the form (it allows only a few seconds): click the button again.'
      : `Slack did not open the form (${code || 'no answer'}), so nothing was recorded. Decide on the web list for now, and tell whoever runs the bot.`;
    await respond({ response_type: 'ephemeral', replace_original: false, text: replyText(text) });
    return;
  }

  const verdict = await allowed(checkId);
  if (verdict.ok) return;
  const viewId = opened.view?.id;
  try {
    if (!viewId) throw new Error('Slack gave no view id');
    await client.views.update({ view_id: viewId, view: refusalModal(verdict.message) });
  } catch (error) {
    // Closed or submitted already: say it in the channel instead.
    logger.debug(`could not replace the modal with the refusal: ${(error as Error).message}`);
    await respond({ response_type: 'ephemeral', replace_original: false, text: replyText(verdict.message) });
  }
}

/** Asks for a reason (Reject) or a comment (approve with comment). */
export function openReasonModal(outcome: Outcome, { gate }: ListenerDeps, args: ButtonArgs): Promise<void> {
  return openModalFirst(
    {
      what: outcome,
      open: (id) => gate.openCheck(id),
      view: (check, channel) => reasonModal(outcome, check, channel),
      allowed: (id) => gate.precheck(id, slackActor(args.body.user), outcome),
    },
    args,
  );
}

/** Asks for the reason of an emergency approval during a freeze (break glass). */
export function openBreakGlassModal({ gate }: ListenerDeps, args: ButtonArgs): Promise<void> {
  return openModalFirst(
    {
      what: 'break glass',
      open: async (id) => {
        const found = await gate.openCheck(id);
        if (found.ok && !gate.freezeOf(found.check)) return { ok: false, code: 'not_frozen', message: 'This check is not frozen now: approve it with Approve. Nothing was recorded.', check: found.check };
        return found;
      },
      view: (check, channel) => breakGlassModal(check, gate.freezeOf(check)?.reason ?? '', channel),
      allowed: (id) => gate.emergencyPrecheck(id, slackActor(args.body.user)),
    },
    args,
  );
}

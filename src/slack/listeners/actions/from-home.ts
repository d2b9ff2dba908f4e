import type { AllMiddlewareArgs, BlockButtonAction, RespondArguments, SlackActionMiddlewareArgs } from '@slack/bolt';
import { unescape } from '../../mrkdwn.js';
import type { ListenerDeps } from '../types.js';

type ButtonArgs = AllMiddlewareArgs & SlackActionMiddlewareArgs<BlockButtonAction>;

/**
 * A click on the Home tab has no `response_url` to answer privately: what the card's handler
 * would say there is shown on top of the person's Home tab instead. Clicks elsewhere pass as they are.
 */
export function fromHome({ home }: ListenerDeps, handler: (args: ButtonArgs) => Promise<void>): (args: ButtonArgs) => Promise<void> {
  return async (args) => {
    if (args.body.container?.type !== 'view' || !home) return handler(args);
    const respond = async (message: string | RespondArguments) => {
      const text = typeof message === 'string' ? message : (message.text ?? '');
      // A reply is escaped mrkdwn already; the Home tab escapes its notice itself, so once is enough.
      await home.publish(args.body.user.id, unescape(text));
    };
    return handler({ ...args, respond: respond as unknown as ButtonArgs['respond'] });
  };
}

import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../types.js';
import { openReasonModal } from './open-reason-modal.js';

/** Someone clicked Reject: ask for a reason in a modal (the decision is made on submit). */
export const rejectCheck =
  (deps: ListenerDeps) =>
  (args: AllMiddlewareArgs & SlackActionMiddlewareArgs<BlockButtonAction>): Promise<void> =>
    openReasonModal('reject', deps, args);

import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../types.js';
import { openBreakGlassModal } from './open-reason-modal.js';

/** Someone clicked Emergency approve during a freeze: ask for the reason (decided on submit). */
export const emergencyApprove =
  (deps: ListenerDeps) =>
  (args: AllMiddlewareArgs & SlackActionMiddlewareArgs<BlockButtonAction>): Promise<void> =>
    openBreakGlassModal(deps, args);

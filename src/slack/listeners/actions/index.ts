import type { App, BlockButtonAction } from '@slack/bolt';
import { APPROVE_ACTION, EMERGENCY_APPROVE_ACTION, REJECT_ACTION } from '../../card.js';
import type { ListenerDeps } from '../types.js';
import { approveCheck } from './approve-check.js';
import { emergencyApprove } from './emergency-approve.js';
import { fromHome } from './from-home.js';
import { rejectCheck } from './reject-check.js';

export function registerActions(app: App, deps: ListenerDeps): void {
  app.action<BlockButtonAction>(APPROVE_ACTION, fromHome(deps, approveCheck(deps)));
  app.action<BlockButtonAction>(REJECT_ACTION, fromHome(deps, rejectCheck(deps)));
  app.action<BlockButtonAction>(EMERGENCY_APPROVE_ACTION, emergencyApprove(deps));
}

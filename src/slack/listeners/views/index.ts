import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../types.js';
import { BREAK_GLASS_VIEW, decideBreakGlass } from './break-glass-modal.js';
import { REASON_VIEWS, decideWithReason } from './reason-modal.js';

export function registerViews(app: App, deps: ListenerDeps): void {
  app.view(REASON_VIEWS.reject, decideWithReason('reject', deps));
  app.view(REASON_VIEWS.approve, decideWithReason('approve', deps));
  app.view(BREAK_GLASS_VIEW, decideBreakGlass(deps));
}

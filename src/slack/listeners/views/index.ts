import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../types.js';
import { REASON_VIEWS, decideWithReason } from './reason-modal.js';

export function registerViews(app: App, deps: ListenerDeps): void {
  app.view(REASON_VIEWS.reject, decideWithReason('reject', deps));
  app.view(REASON_VIEWS.approve, decideWithReason('approve', deps));
}

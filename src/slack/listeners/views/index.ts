import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../types.js';
import { REJECT_VIEW, rejectWithReason } from './reject-reason.js';

export function registerViews(app: App, deps: ListenerDeps): void {
  app.view(REJECT_VIEW, rejectWithReason(deps));
}

import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../types.js';
import { listPending } from './pending.js';

export function registerCommands(app: App, deps: ListenerDeps): void {
  app.command('/pending', listPending(deps));
}

import type { Gate } from '../../gate.js';
import type { HomeTab } from '../home.js';
import { storable } from '../../well-formed.js';

/** What every Slack listener may use. */
export interface ListenerDeps {
  gate: Gate;
  clock: () => Date;
  /** Absolute URL of the web list, for links; null when unknown. */
  webListUrl: string | null;
  /** The app's Home tab; absent where it is not drawn. */
  home?: HomeTab;
}

/** The person clicking, from a Slack payload's `user`. */
export function slackActor(user: { id: string; username?: string; name?: string }) {
  return { via: 'slack' as const, id: user.id, name: storable(user.username ?? user.name ?? user.id) };
}

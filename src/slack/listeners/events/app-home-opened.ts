import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../types.js';

/** Someone opened the app in Slack: draw their Home tab, and keep it current from now on. */
export const appHomeOpened =
  ({ gate, home }: ListenerDeps) =>
  async ({ event, logger }: AllMiddlewareArgs & SlackEventMiddlewareArgs<'app_home_opened'>): Promise<void> => {
    // The Messages and About tabs need nothing from the bot.
    if (event.tab !== 'home' || !home) return;
    try {
      await gate.homeOpened(event.user);
    } catch (error) {
      // The database refuses writes: the tab is still drawn, only not kept current until opened again.
      logger.warn(`The Home tab will not be kept current: ${(error as Error).message}`);
    }
    try {
      await home.publish(event.user);
    } catch (error) {
      logger.warn(`The Home tab could not be published: ${(error as Error).message}`);
    }
  };

import { App, ExpressReceiver, HTTPModuleFunctions, SocketModeReceiver, type webApi } from '@slack/bolt';
import express, { type Router } from 'express';
import type { Logger } from 'pino';
import { boltLogger } from '../logging.js';
import { StoreUnavailable, unavailableMessage } from '../ports.js';

export interface SlackReceiverOptions {
  botToken: string;
  /** Socket Mode when set; otherwise Slack calls POST /slack/events, checked with the signing secret. */
  appToken: string | null;
  signingSecret: string | null;
  client: webApi.WebClient;
  clientOptions: webApi.WebClientOptions;
  log: Logger;
}

/**
 * Slack's side of the bot behind one object, whichever transport brings the events: Bolt's
 * app to register listeners on, the routes to mount (HTTP only), and start and stop.
 */
export interface SlackReceiver {
  app: App;
  /** POST /slack/events, to mount under BASE_PATH; null in Socket Mode. */
  routes: Router | null;
  start(): Promise<void>;
  /** Resolves once no more events can arrive. */
  stop(): Promise<void>;
}

export function createSlackReceiver({ botToken, appToken, signingSecret, client, clientOptions, log }: SlackReceiverOptions): SlackReceiver {
  let identity: Promise<{ botId?: string; botUserId?: string }> | null = null;
  const authorize = async () => {
    // Remembered once known; asked again after a failure rather than failing every request.
    identity ??= client.auth.test().then(
      (r) => ({ botId: r.bot_id, botUserId: r.user_id }),
      (error: unknown) => {
        identity = null;
        throw error;
      },
    );
    return { botToken, ...(await identity) };
  };
  const logger = boltLogger(log);

  if (appToken) {
    // Built here rather than by Bolt so stop() can wait for the socket to close: Bolt's stop()
    // returns before it has, and an envelope arriving then would find the database closed.
    const socketMode = new SocketModeReceiver({ appToken, logger, installerOptions: { clientOptions } });
    const app = new App({ authorize, receiver: socketMode, logger, clientOptions });
    return {
      app,
      routes: null,
      start: async () => {
        await app.start();
      },
      stop: () => socketMode.client.disconnect(),
    };
  }

  const routes = express.Router();
  const receiver = new ExpressReceiver({
    signingSecret: signingSecret as string,
    endpoints: '/slack/events',
    router: routes,
    app: express(), // unused: the routes are mounted on ours, under BASE_PATH
    logger,
    // A click that cannot be written down is not acknowledged: Slack hears 503, the person an error.
    processEventErrorHandler: async (args) => {
      if (!(args.error instanceof StoreUnavailable) || args.response.headersSent) return HTTPModuleFunctions.defaultProcessEventErrorHandler(args);
      log.warn({ error: args.error.message }, 'Slack request not taken: the database cannot be written');
      args.response.writeHead(503, { 'content-type': 'application/json' });
      args.response.end(JSON.stringify({ error: unavailableMessage(args.error) }));
      return true; // answered: no "not acknowledged" complaint from Bolt 3 s later
    },
  });
  const app = new App({ authorize, receiver, logger, clientOptions });
  // Served by the bot's own HTTP server, which closes with it.
  return { app, routes, start: async () => undefined, stop: async () => undefined };
}

import crypto from 'node:crypto';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { messageProblems, viewProblems } from './block-kit.js';
import { listen } from './http.js';
import { Recorder } from './recorder.js';
import { socketModeEnvelope, type SocketModeEnvelopeType } from './slack-requests.js';

export const APP_ID = 'A0001';

export type EnvelopeType = SocketModeEnvelopeType;

/** What Slack sends over the socket for each thing that happens in the workspace. */
export interface Envelope {
  envelope_id: string;
  type: EnvelopeType;
  accepts_response_payload: boolean;
  payload: unknown;
  /** Events only: how many times Slack tried before, and why. */
  retry_attempt?: number;
  retry_reason?: string;
}

/** The app's answer to an envelope: its id and, when the app answers something, `payload`. */
export interface SocketAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

/** What Slack would make of an ack's payload: nothing wrong, or the Block Kit limits it breaks. */
export function ackProblems(ack: SocketAck): string[] {
  const payload = ack.payload;
  if (!payload) return [];
  // A modal answer (`response_action: update|push`) carries a view; anything else is a message.
  if (payload.view !== undefined) return viewProblems(payload.view);
  return messageProblems(payload.blocks);
}

export interface SocketClose {
  code: number;
  reason: string;
}

/** How long Slack waits for an envelope's acknowledgement. */
export const ACK_WINDOW_MS = 3000;

/** Why Slack would ignore an acknowledgement that took `ms`, or null when it came in time. */
export function lateAck(ms: number): string | null {
  return ms > ACK_WINDOW_MS ? `Slack gave up on this envelope: acknowledged after ${ms} ms, more than Slack's ${ACK_WINDOW_MS} ms` : null;
}

const debugInfo = { host: 'applink-fake', build_number: 1, approximate_connection_time: 18060 };

/**
 * A stand-in for Slack's Socket Mode service on 127.0.0.1. `linkUrl()` is what
 * `apps.connections.open` answers: a WebSocket URL with a ticket good for one connection. Each
 * connection is greeted with `hello`; `deliver` sends an envelope and waits for the app to
 * acknowledge it with the envelope's id. ws answers the client's pings with pongs, as Slack does.
 */
export class FakeSocketMode {
  readonly acks = new Recorder<SocketAck>();
  /** Acks whose payload Slack would refuse (invalid_blocks): the person sees an error, not it. */
  readonly refusedAcks = new Recorder<{ ack: SocketAck; problems: string[] }>();
  readonly connections = new Recorder<{ ticket: string }>();
  readonly closes = new Recorder<SocketClose>();
  readonly #tickets = new Set<string>();
  readonly #open = new Set<WebSocket>();
  readonly #wss = new WebSocketServer({ noServer: true });
  url = '';
  #closeServer: () => Promise<void> = async () => undefined;

  static async start(): Promise<FakeSocketMode> {
    const fake = new FakeSocketMode();
    const { server, url, close } = await listen((_req, res) => {
      res.writeHead(404).end();
    });
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => fake.#upgrade(req, socket, head));
    fake.url = url;
    fake.#closeServer = close;
    return fake;
  }

  /** A fresh URL, as `apps.connections.open` gives one: `ws://…/link/?ticket=…&app_id=…`. */
  linkUrl(): string {
    const ticket = crypto.randomUUID();
    this.#tickets.add(ticket);
    return `${this.url.replace(/^http/, 'ws')}/link/?ticket=${ticket}&app_id=${APP_ID}`;
  }

  /**
   * Sends an envelope on the newest connection; resolves once the app acknowledges it, and
   * rejects when the acknowledgement carries blocks Slack would refuse.
   */
  async deliver(type: EnvelopeType, payload: unknown): Promise<{ envelope: Envelope; ack: SocketAck }> {
    const socket = [...this.#open].at(-1);
    if (!socket) throw new Error('No Socket Mode connection is open: was the bot started with SLACK_APP_TOKEN and this stand-in’s URL?');
    const envelope: Envelope = socketModeEnvelope(type, payload);
    const sent = Date.now();
    socket.send(JSON.stringify(envelope));
    const [ack] = await this.acks.waitFor((a) => a.envelope_id === envelope.envelope_id);
    // Slack waits 3 seconds for an acknowledgement, then shows the person an error; a later
    // one changes nothing.
    const late = lateAck(Date.now() - sent);
    if (late) throw new Error(late);
    // Slack shows the person an error instead of an answer it refuses: so does the stand-in.
    const problems = ackProblems(ack!);
    if (problems.length) throw new Error(`Slack would refuse this acknowledgement (invalid_blocks): ${problems.join('; ')}`);
    return { envelope, ack: ack! };
  }

  /** Pings the newest connection; resolves with the pong's data. */
  ping(data = 'ping from the stand-in'): Promise<string> {
    const socket = [...this.#open].at(-1);
    if (!socket) return Promise.reject(new Error('No Socket Mode connection is open to ping.'));
    return new Promise((resolve) => {
      socket.once('pong', (echo: Buffer) => resolve(echo.toString()));
      socket.ping(data);
    });
  }

  /**
   * Asks the newest connection to go, as Slack does before it recycles a server (`warning`) or
   * when the app's connection is refreshed: the client closes it and opens another.
   */
  requestDisconnect(reason: 'warning' | 'refresh_requested' = 'warning'): void {
    const socket = [...this.#open].at(-1);
    if (!socket) throw new Error('No Socket Mode connection is open to disconnect.');
    socket.send(JSON.stringify({ type: 'disconnect', reason, debug_info: debugInfo }));
  }

  /** Connections still open. */
  get openConnections(): number {
    return this.#open.size;
  }

  /**
   * Closes what is still open the way Slack does (a `disconnect` message, then the close), then
   * stops listening. Stop the bot first: told to disconnect, a running client reconnects.
   */
  async close(): Promise<void> {
    for (const socket of this.#open) {
      socket.send(JSON.stringify({ type: 'disconnect', reason: 'warning', debug_info: debugInfo }));
      socket.close(1001, 'going away');
    }
    for (const socket of this.#open) socket.terminate();
    this.#wss.close();
    await this.#closeServer();
  }

  #upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const ticket = url.searchParams.get('ticket') ?? '';
    // A ticket opens one connection, as Slack's do; anything else is refused before the upgrade.
    if (url.pathname !== '/link/' || !this.#tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#connected(ws, ticket));
  }

  #connected(ws: WebSocket, ticket: string): void {
    this.#open.add(ws);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const ack = JSON.parse(data.toString()) as SocketAck;
      const problems = ackProblems(ack);
      if (problems.length) this.refusedAcks.push({ ack, problems });
      this.acks.push(ack);
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.#open.delete(ws);
      this.closes.push({ code, reason: reason.toString() });
    });
    ws.send(JSON.stringify({ type: 'hello', num_connections: this.#open.size, debug_info: debugInfo, connection_info: { app_id: APP_ID } }));
    this.connections.push({ ticket });
  }
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  headers: IncomingMessage['headers'];
  body: string;
  json: any;
  receivedAt: number;
  /** Why the standardwebhooks package refused it, when the receiver has a secret; null: verified. */
  refused: string | null;
}

/** What the receiver answers to one delivery. */
export type ReceiverReply = { status: number; headers?: Record<string, string> } | { stall: true };

/**
 * A real HTTP endpoint on 127.0.0.1 that records webhook deliveries and answers as scripted. Given
 * a whsec_ secret it verifies each delivery with the standardwebhooks package, as a receiver
 * following docs/api.md would, and answers 400 to one that fails (a replay, a forgery).
 * `WebhookReceiver.start()` starts one; made with `new`, `listen()` starts it later, and after
 * `close()` it can listen again (on the same port, to come back after an outage).
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  private replies: ReceiverReply[] = [];
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly verifier?: Webhook;
  url = '';

  constructor(options: { secret?: string } = {}) {
    this.verifier = options.secret ? new Webhook(options.secret) : undefined;
  }

  static start(options: { port?: number; secret?: string } = {}): Promise<WebhookReceiver> {
    return new WebhookReceiver(options).listen(options.port);
  }

  async listen(port = 0): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/interviews`;
    return this;
  }

  /** Forgets the deliveries received and the replies scripted. */
  reset(): void {
    this.received.length = 0;
    this.replies = [];
  }

  /** The next deliveries get these replies, in order; then 200. */
  script(...replies: ReceiverReply[]): void {
    this.replies.push(...replies);
  }

  events(type?: string): ReceivedWebhook[] {
    return this.received.filter((r) => !type || r.json.type === type);
  }

  async waitFor(count: number, type?: string, timeoutMs = 15_000): Promise<ReceivedWebhook[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events(type).length < count) {
      if (Date.now() > deadline) {
        throw new Error(`expected ${count} ${type ?? ''} webhook(s), got ${JSON.stringify(this.events(type))}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    return this.events(type);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const refused = this.refusal(req.headers, body);
    this.received.push({ headers: req.headers, body, json: JSON.parse(body), receivedAt: Date.now(), refused });
    if (refused) {
      res.writeHead(400).end(refused);
      return;
    }
    const reply = this.replies.shift() ?? { status: 200 };
    if ('stall' in reply) return; // never answers
    res.writeHead(reply.status, reply.headers).end('ok');
  }

  /** Null when the standardwebhooks package verifies the delivery (or there is no secret), else why not. */
  refusal(headers: IncomingMessage['headers'], body: string): string | null {
    if (!this.verifier) return null;
    try {
      this.verifier.verify(body, headers as Record<string, string>);
      return null;
    } catch (error) {
      return (error as Error).message;
    }
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

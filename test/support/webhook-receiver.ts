import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedWebhook {
  headers: IncomingMessage['headers'];
  body: string;
  json: any;
  receivedAt: number;
}

/** What the receiver answers to one delivery. */
export type ReceiverReply = { status: number; headers?: Record<string, string> } | { stall: true };

/** A real HTTP endpoint on 127.0.0.1 that records webhook deliveries and answers as scripted. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  private replies: ReceiverReply[] = [];
  private server!: Server;
  private readonly sockets = new Set<Socket>();
  url = '';

  static async start(port = 0): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    receiver.server = createServer((req, res) => void receiver.handle(req, res));
    receiver.server.on('connection', (socket) => {
      receiver.sockets.add(socket);
      socket.on('close', () => receiver.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => receiver.server.listen(port, '127.0.0.1', resolve));
    receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}/hooks/interviews`;
    return receiver;
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
    this.received.push({ headers: req.headers, body, json: JSON.parse(body), receivedAt: Date.now() });
    const reply = this.replies.shift() ?? { status: 200 };
    if ('stall' in reply) return; // never answers
    res.writeHead(reply.status, reply.headers).end('ok');
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

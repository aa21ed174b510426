import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * One HTTP request as it crossed the proxy, with when each part passed (ms since the epoch): a
 * browser test can tell the time a body took on the (emulated) link from the time the server took
 * to answer it.
 */
export interface ProxiedRequest {
  method: string;
  path: string;
  /** The request's Content-Length (0 without a body). */
  bodyBytes: number;
  /** Its first byte reached the proxy. */
  startedAt: number;
  /** Its last byte (headers, and body when there is one) reached the proxy. */
  sentAt?: number;
  /** The first byte of the server's answer reached the proxy. */
  answeredAt?: number;
  status?: number;
}

/**
 * A TCP proxy in front of the server that counts the bytes clients send through it: a browser test
 * can wait until part of an upload has reached the server, and tell how much was sent in all.
 * `requests` records every HTTP/1.1 request, with when it started, was sent and was answered.
 * `CountingProxy.start(target)` starts one; made with `new`, `listen(target)` starts it later.
 */
export class CountingProxy {
  /** Bytes received from clients (request lines, headers and bodies) since the start. */
  sentBytes = 0;
  readonly requests: ProxiedRequest[] = [];
  url = '';
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  static start(targetUrl: string): Promise<CountingProxy> {
    return new CountingProxy().listen(targetUrl);
  }

  async listen(targetUrl: string): Promise<this> {
    const target = new URL(targetUrl);
    const server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      const exchanges = new HttpExchanges(this.requests);
      client.on('data', (data: Buffer) => {
        this.sentBytes += data.length;
        exchanges.fromClient(data);
      });
      upstream.on('data', (data: Buffer) => exchanges.fromServer(data));
      client.pipe(upstream);
      upstream.pipe(client);
      // a client cut off (a reload) still delivers what it sent: end, not destroy, so it is flushed
      client.on('close', () => upstream.end());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const HEAD_END = Buffer.from('\r\n\r\n');
const LINE_END = Buffer.from('\r\n');

/**
 * One direction of a connection: heads and bodies in turn, each body delimited by its Content-Length
 * or its chunked framing (an answer streamed for good, such as an event stream, simply never ends).
 */
class HttpMessages {
  private buffered = Buffer.alloc(0);
  /** Between messages, reading a head, the bytes of a Content-Length body left, or reading a chunked body. */
  private state: 'idle' | 'head' | number | 'chunked' = 'idle';
  private chunkLeft = 0;

  constructor(
    /** A head arrived; returns how its body is delimited. */
    private readonly onHead: (head: string) => number | 'chunked',
    /** The first byte of a message arrived. */
    private readonly onStart: () => void,
    /** The message's last byte arrived. */
    private readonly onEnd: () => void,
  ) {}

  push(data: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, data]);
    while (this.buffered.length > 0) {
      if (this.state === 'idle') {
        this.state = 'head';
        this.onStart();
      }
      if (this.state === 'head') {
        const end = this.buffered.indexOf(HEAD_END);
        if (end < 0) return;
        const head = this.buffered.subarray(0, end).toString('latin1');
        this.buffered = this.buffered.subarray(end + HEAD_END.length);
        this.state = this.onHead(head);
        if (this.state === 0) this.ended();
      } else if (this.state === 'chunked') {
        if (!this.readChunked()) return;
        this.ended();
      } else if (typeof this.state === 'number') {
        const taken = Math.min(this.state, this.buffered.length);
        this.state -= taken;
        this.buffered = this.buffered.subarray(taken);
        if (this.state > 0) return;
        this.ended();
      }
    }
  }

  /** Reads chunks until the last one and its trailers; false while more bytes are needed. */
  private readChunked(): boolean {
    for (;;) {
      if (this.chunkLeft > 0) {
        const taken = Math.min(this.chunkLeft, this.buffered.length);
        this.chunkLeft -= taken;
        this.buffered = this.buffered.subarray(taken);
        if (this.chunkLeft > 0) return false;
      }
      const line = this.buffered.indexOf(LINE_END);
      if (line < 0) return false;
      if (line === 0) {
        this.buffered = this.buffered.subarray(LINE_END.length); // the CRLF after a chunk's data
        continue;
      }
      const size = parseInt(this.buffered.subarray(0, line).toString('latin1'), 16);
      if (size > 0) {
        this.buffered = this.buffered.subarray(line + LINE_END.length);
        this.chunkLeft = size;
        continue;
      }
      // the last chunk: trailers (none, usually) up to an empty line
      const end = this.buffered.indexOf(HEAD_END, line);
      if (end < 0) return false;
      this.buffered = this.buffered.subarray(end + HEAD_END.length);
      return true;
    }
  }

  private ended(): void {
    this.state = 'idle';
    this.onEnd();
  }
}

const bodyOf = (head: string, bodiless = false): number | 'chunked' => {
  if (bodiless) return 0;
  if (/^transfer-encoding:.*chunked/im.test(head)) return 'chunked';
  return Number(/^content-length:\s*(\d+)/im.exec(head)?.[1] ?? 0);
};

/** Follows the requests and answers of one keep-alive connection, in order. */
class HttpExchanges {
  private current?: ProxiedRequest;
  private readonly waiting: ProxiedRequest[] = [];
  private readonly requests = new HttpMessages(
    (head) => {
      const [method = '', path = ''] = head.split('\r\n')[0].split(' ');
      const body = bodyOf(head);
      Object.assign(this.current!, { method, path, bodyBytes: body === 'chunked' ? -1 : body });
      this.into.push(this.current!);
      this.waiting.push(this.current!);
      return body;
    },
    () => (this.current = { method: '', path: '', bodyBytes: 0, startedAt: Date.now() }),
    () => {
      if (this.current) this.current.sentAt = Date.now();
    },
  );
  private readonly answers = new HttpMessages(
    (head) => {
      const answered = this.waiting[0];
      const status = Number(head.split(' ')[1]);
      if (status < 200) return 0; // 100 Continue: the answer is still to come
      this.waiting.shift();
      if (answered) answered.status = status;
      return bodyOf(head, answered?.method === 'HEAD' || status === 204 || status === 304);
    },
    () => {
      const answered = this.waiting[0];
      if (answered && answered.answeredAt === undefined) answered.answeredAt = Date.now();
    },
    () => undefined,
  );

  constructor(private readonly into: ProxiedRequest[]) {}

  fromClient(data: Buffer): void {
    this.requests.push(data);
  }

  fromServer(data: Buffer): void {
    this.answers.push(data);
  }
}

import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of the server that counts the bytes clients send through it: a browser test
 * can wait until part of an upload has reached the server, and tell how much was sent in all.
 * `CountingProxy.start(target)` starts one; made with `new`, `listen(target)` starts it later.
 */
export class CountingProxy {
  /** Bytes received from clients (request lines, headers and bodies) since the start. */
  sentBytes = 0;
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
      client.on('data', (data: Buffer) => (this.sentBytes += data.length));
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

import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of the server that counts the bytes clients send through it: a browser test
 * can wait until part of an upload has reached the server, and tell how much was sent in all.
 */
export class CountingProxy {
  /** Bytes received from clients (request lines, headers and bodies) since the start. */
  sentBytes = 0;
  url = '';
  private server!: Server;
  private readonly sockets = new Set<Socket>();

  static async start(targetUrl: string): Promise<CountingProxy> {
    const proxy = new CountingProxy();
    const target = new URL(targetUrl);
    proxy.server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const socket of [client, upstream]) {
        proxy.sockets.add(socket);
        socket.on('close', () => proxy.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.on('data', (data: Buffer) => (proxy.sentBytes += data.length));
      client.pipe(upstream);
      upstream.pipe(client);
      // a client cut off (a reload) still delivers what it sent: end, not destroy, so it is flushed
      client.on('close', () => upstream.end());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.url = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
    return proxy;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

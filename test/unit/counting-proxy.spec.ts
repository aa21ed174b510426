import { createServer, request, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingProxy } from '../support/counting-proxy.js';

/** The browser tests time each request with the proxy's records: they must follow a keep-alive connection. */
let server: Server;
let proxy: CountingProxy;
beforeAll(async () => {
  const json = (body: string) => ({ 'content-type': 'application/json', 'content-length': body.length });
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: 1\n\n');
        setTimeout(() => res.end(), 50);
      } else if (req.method === 'PATCH' && req.headers['upload-length']) {
        res.writeHead(202, json('{"status":"processing"}')).end('{"status":"processing"}');
      } else if (req.method === 'PATCH' || req.method === 'HEAD') {
        setTimeout(() => res.writeHead(204, { 'upload-offset': '3' }).end(), 30);
      } else res.writeHead(200, json('{"ok":true}')).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy = await CountingProxy.start(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
afterAll(async () => {
  await proxy.close();
  await new Promise((resolve) => server.close(resolve));
});

function send(agent: Agent, method: string, path: string, body?: Buffer, headers: Record<string, string> = {}) {
  return new Promise<number>((resolve, reject) => {
    const length = body ? { 'content-length': String(body.length) } : {};
    const req = request(`${proxy.url}${path}`, { method, agent, headers: { ...headers, ...length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('CountingProxy', () => {
  it('records each request of a keep-alive connection: when it started, was sent and answered', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect(await send(agent, 'POST', '/api/uploads', Buffer.alloc(0))).toBe(200);
    expect(await send(agent, 'PATCH', '/api/uploads/a', Buffer.alloc(3000, 1))).toBe(204);
    expect(await send(agent, 'HEAD', '/api/uploads/a')).toBe(204);
    expect(await send(agent, 'PATCH', '/api/uploads/a', Buffer.alloc(10, 1), { 'upload-length': '3010' })).toBe(202);
    expect(await send(agent, 'GET', '/api/sessions')).toBe(200);
    agent.destroy();
    expect(proxy.requests.map((r) => [r.method, r.path, r.bodyBytes, r.status])).toEqual([
      ['POST', '/api/uploads', 0, 200],
      ['PATCH', '/api/uploads/a', 3000, 204],
      ['HEAD', '/api/uploads/a', 0, 204],
      ['PATCH', '/api/uploads/a', 10, 202],
      ['GET', '/api/sessions', 0, 200],
    ]);
    for (const r of proxy.requests) {
      expect(r.sentAt).toBeGreaterThanOrEqual(r.startedAt);
      expect(r.answeredAt).toBeGreaterThanOrEqual(r.sentAt!);
    }
    const patch = proxy.requests[1];
    expect(patch.answeredAt! - patch.sentAt!).toBeGreaterThanOrEqual(25);
  });

  it('follows answers of chunked framing (Node without a Content-Length, an event stream that ends)', async () => {
    proxy.requests.length = 0;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect(await send(agent, 'GET', '/stream')).toBe(200);
    expect(await send(agent, 'PATCH', '/api/uploads/a', Buffer.alloc(5, 1))).toBe(204);
    agent.destroy();
    expect(proxy.requests.map((r) => [r.path, r.status])).toEqual([
      ['/stream', 200],
      ['/api/uploads/a', 204],
    ]);
    expect(proxy.requests.every((r) => r.answeredAt !== undefined)).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import type { HttpRequest, HttpResponse, HttpStack } from 'tus-js-client';
import { GrowingSource, LiveUpload } from './live-upload';

const bytes = (...values: number[]) => new Blob([new Uint8Array(values)]);
const read = async (blob: Blob | null) => (blob ? [...new Uint8Array(await blob.arrayBuffer())] : null);

/**
 * A tus server in memory speaking creation-defer-length as the real one does (Upload-Length once,
 * the 202 when the last byte is in), that can drop the connection of the next PATCHes.
 */
class TusServerInMemory implements HttpStack {
  stored: number[] = [];
  length: number | null = null;
  requests: { method: string; offset?: number; length?: string; body: number[] }[] = [];
  /** The next this many PATCHes fail as a lost connection would, before the server gets a byte. */
  dropPatches = 0;
  terminated = false;

  getName() {
    return 'memory';
  }

  createRequest(method: string, url: string): HttpRequest {
    const headers = new Map<string, string>();
    const response = (status: number, h: Record<string, string> = {}, body = ''): HttpResponse => ({
      getStatus: () => status,
      getHeader: (name) => h[name.toLowerCase()] ?? h[name],
      getBody: () => body,
      getUnderlyingObject: () => null,
    });
    return {
      getMethod: () => method,
      getURL: () => url,
      setHeader: (name, value) => void headers.set(name.toLowerCase(), value),
      getHeader: (name) => headers.get(name.toLowerCase()),
      setProgressHandler: () => undefined,
      abort: () => Promise.resolve(),
      getUnderlyingObject: () => null,
      send: async (body?: Blob | null) => {
        const sent = body ? [...new Uint8Array(await body.arrayBuffer())] : [];
        this.requests.push({
          method,
          offset: headers.has('upload-offset') ? Number(headers.get('upload-offset')) : undefined,
          length: headers.get('upload-length'),
          body: sent,
        });
        if (method === 'POST') {
          expect(headers.get('upload-defer-length')).toBe('1');
          return response(201, { location: '/api/uploads/u1' });
        }
        if (method === 'DELETE') {
          this.terminated = true;
          return response(204);
        }
        if (method === 'HEAD') {
          return response(200, {
            'upload-offset': String(this.stored.length),
            ...(this.length === null ? { 'upload-defer-length': '1' } : { 'upload-length': String(this.length) }),
          });
        }
        if (this.dropPatches > 0) {
          this.dropPatches--;
          throw new Error('connection lost');
        }
        if (Number(headers.get('upload-offset')) !== this.stored.length) return response(409);
        if (headers.has('upload-length')) this.length = Number(headers.get('upload-length'));
        this.stored.push(...sent);
        const offset = { 'upload-offset': String(this.stored.length) };
        if (this.stored.length === this.length) return response(202, offset, JSON.stringify({ sha256: 'abc' }));
        return response(204, offset);
      },
    };
  }
}

describe('GrowingSource', () => {
  it('gives what was recorded since the offset asked, waits while there is none, and says done with the last bytes', async () => {
    const source = new GrowingSource('audio/webm');
    source.push(bytes(1, 2, 3));
    expect(await source.slice(0, 100).then((r) => read(r.value))).toEqual([1, 2, 3]);
    let answered = false;
    const waiting = source.slice(3, 100).then((r) => ((answered = true), r));
    await new Promise((r) => setTimeout(r, 10));
    expect(answered).toBe(false);
    source.push(bytes(4, 5));
    const next = await waiting;
    expect([await read(next.value), next.done]).toEqual([[4, 5], false]);
    // bounded by `end`, and any earlier offset can be read again (a resume from the server's offset)
    expect(await source.slice(1, 4).then((r) => read(r.value))).toEqual([2, 3, 4]);
    source.push(bytes(6));
    source.end();
    const last = await source.slice(5, 100);
    expect([await read(last.value), last.done]).toEqual([[6], true]);
    const after = await source.slice(6, 100);
    expect([after.value, after.done]).toEqual([null, true]);
    expect(await read(source.whole())).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('LiveUpload', () => {
  it('sends each chunk as it comes, resumes from the server offset after a lost connection, and sends the length with the last chunk', async () => {
    const server = new TusServerInMemory();
    const urls: string[] = [];
    const live = new LiveUpload({
      token: 'T',
      baseUrl: '',
      sessionId: 's1',
      questionId: 'q1',
      mimeType: 'audio/webm',
      httpStack: server,
      retryDelayMs: () => 5,
      onUploadUrl: (url) => urls.push(url),
    });
    live.append(bytes(1, 2));
    await until(() => server.stored.length === 2);
    server.dropPatches = 2; // offline for two tries
    live.append(bytes(3, 4, 5));
    await until(() => server.stored.length === 5);
    live.append(bytes(6));
    await until(() => server.stored.length === 6);
    live.append(bytes(7, 8));
    const accepted = await live.finish();

    expect(accepted).toEqual({ sha256: 'abc' });
    expect(urls).toEqual(['/api/uploads/u1']);
    expect(server.stored).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(server.length).toBe(8);
    // the resume asked the server where it was (HEAD), and no byte reached it twice
    const patches = server.requests.filter((r) => r.method === 'PATCH');
    expect(server.requests.filter((r) => r.method === 'HEAD').length).toBeGreaterThanOrEqual(1);
    const landed = patches.filter((p) => p.length !== undefined || p.body.length > 0).slice(-1)[0];
    expect(landed).toMatchObject({ offset: 6, length: '8', body: [7, 8] }); // the last chunk carries the length
    expect(patches.every((p) => p.length === undefined || p === landed)).toBe(true);
  });

  it('is terminated on the server when discarded', async () => {
    const server = new TusServerInMemory();
    const live = new LiveUpload({
      token: 'T',
      baseUrl: '',
      sessionId: 's1',
      questionId: 'q1',
      mimeType: 'audio/webm',
      httpStack: server,
    });
    live.append(bytes(1, 2, 3));
    await until(() => server.stored.length === 3);
    await live.terminate();
    expect(server.terminated).toBe(true);
    await expect(live.finish()).rejects.toThrow('discarded');
    expect(server.requests.map((r) => r.method)).toEqual(['POST', 'PATCH', 'DELETE']);
  });
});

async function until(check: () => boolean, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

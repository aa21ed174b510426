import { describe, expect, it } from 'vitest';
import { TusServerInMemory } from '../test/tus-server-in-memory';
import { GrowingSource, LiveUpload } from './live-upload';

const bytes = (...values: number[]) => new Blob([new Uint8Array(values)]);
const read = async (blob: Blob | null) => (blob ? [...new Uint8Array(await blob.arrayBuffer())] : null);

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

  it('once ending, gives nothing more until the end, then the rest and done at once', async () => {
    const source = new GrowingSource('audio/webm');
    source.push(bytes(1));
    source.ending();
    let answered = false;
    const waiting = source.slice(0, 100).then((r) => ((answered = true), r));
    source.push(bytes(2));
    await new Promise((r) => setTimeout(r, 10));
    expect(answered).toBe(false);
    source.end();
    const last = await waiting;
    expect([await read(last.value), last.done]).toEqual([[1, 2], true]);
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

    const digest = await crypto.subtle.digest('SHA-256', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    const sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
    expect(accepted).toEqual({ sha256 });
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

  it('sends what is left with the length in one PATCH once the recording is ending, not its last chunk alone first', async () => {
    const server = new TusServerInMemory();
    const live = new LiveUpload({
      token: 'T',
      baseUrl: '',
      sessionId: 's1',
      questionId: 'q1',
      mimeType: 'audio/webm',
      httpStack: server,
    });
    live.append(bytes(1, 2));
    await until(() => server.stored.length === 2);
    live.ending(); // handed over: the recorder's last chunk is still being kept
    live.append(bytes(3));
    await new Promise((r) => setTimeout(r, 20));
    expect(server.stored).toEqual([1, 2]);
    live.append(bytes(4));
    expect(await live.finish()).not.toBeNull();
    const patches = server.requests.filter((r) => r.method === 'PATCH');
    expect(patches.map((p) => [p.offset, p.length, p.body])).toEqual([
      [0, undefined, [1, 2]],
      [2, '4', [3, 4]],
    ]);
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

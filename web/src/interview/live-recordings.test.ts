import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import {
  appendChunk,
  beginTake,
  forgetTake,
  recordingOf,
  rememberTakeUpload,
  unfinishedTakes,
  type TakeKey,
} from './live-recordings';

const take = (attempt: string, userId = 'dana'): TakeKey => ({ userId, sessionId: 's1', questionId: 'q1', attempt });

describe('recordings kept while they are made', () => {
  it('keeps each chunk as it comes, and gives back exactly the bytes recorded, in order, with how long it ran', async () => {
    const first = take('a1');
    await beginTake({ ...first, mimeType: 'audio/webm;codecs=opus', startedAt: 1000 });
    // twelve chunks: the 10th and later sort after the 9th
    const chunks = Array.from({ length: 12 }, (_, i) => new Uint8Array([i, i + 100, 7]));
    for (const [i, chunk] of chunks.entries()) await appendChunk(first, i, new Blob([chunk]), (i + 1) * 1000);
    await rememberTakeUpload(first, '/api/uploads/abc');
    await beginTake({ ...take('b1', 'erin'), mimeType: 'audio/webm', startedAt: 2000 });

    const [found, ...others] = await unfinishedTakes('dana');
    expect(others).toEqual([]);
    expect(found).toEqual({
      ...first,
      mimeType: 'audio/webm;codecs=opus',
      startedAt: 1000,
      durationMs: 12_000,
      chunks: 12,
      bytes: 36,
      uploadUrl: '/api/uploads/abc',
    });
    const recording = await recordingOf(found);
    expect(recording.type).toBe('audio/webm;codecs=opus');
    expect(new Uint8Array(await recording.arrayBuffer())).toEqual(new Uint8Array(chunks.flatMap((c) => [...c])));

    await forgetTake(first);
    expect(await unfinishedTakes('dana')).toEqual([]);
    expect((await recordingOf(found)).size).toBe(0);
    expect((await unfinishedTakes('erin')).map((t) => t.attempt)).toEqual(['b1']);
  });

  it('keeps two attempts at one question apart', async () => {
    const one = take('x1');
    const two = take('x2');
    await beginTake({ ...one, mimeType: 'audio/webm', startedAt: 1 });
    await beginTake({ ...two, mimeType: 'audio/webm', startedAt: 2 });
    await appendChunk(one, 0, new Blob([new Uint8Array([1])]), 1000);
    await appendChunk(two, 0, new Blob([new Uint8Array([2, 2])]), 1000);
    const [first, second] = await unfinishedTakes('dana');
    expect([first.attempt, first.bytes, second.attempt, second.bytes]).toEqual(['x1', 1, 'x2', 2]);
    expect(new Uint8Array(await (await recordingOf(second)).arrayBuffer())).toEqual(new Uint8Array([2, 2]));
    await forgetTake(one);
    await forgetTake(two);
  });
});

import { describe, expect, it, vi } from 'vitest';
import type { ApiClient } from '../api/api-client';
import { ApiError } from '../api/api-error';
import { retryDelayMs, UploadQueue, type UploadState } from './upload-queue';

const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 250 };

function queueWith(uploadAnswer: ReturnType<typeof vi.fn>) {
  const states: [string, UploadState][] = [];
  const sleeps: number[] = [];
  const queue = new UploadQueue(
    { uploadAnswer } as unknown as ApiClient,
    's1',
    (questionId, state) => states.push([questionId, state]),
    policy,
    async (ms) => void sleeps.push(ms),
  );
  return { queue, states, sleeps };
}

describe('UploadQueue', () => {
  it('retries network failures with growing delays until the upload goes through', async () => {
    const uploadAnswer = vi
      .fn()
      .mockRejectedValueOnce(new ApiError('unreachable', 0))
      .mockRejectedValueOnce(new ApiError('busy', 503))
      .mockResolvedValueOnce({ status: 'processing' });
    const { queue, states, sleeps } = queueWith(uploadAnswer);
    queue.enqueue('q1', new Blob(['a']));
    await queue.settled();
    expect(uploadAnswer).toHaveBeenCalledTimes(3);
    expect(sleeps).toEqual([100, 200]);
    expect(states.at(-1)).toEqual(['q1', { phase: 'uploaded' }]);
  });

  it('reports a refusal at once, as the server said it', async () => {
    const uploadAnswer = vi.fn().mockRejectedValue(new ApiError('The session is already analyzed.', 409));
    const { queue, states } = queueWith(uploadAnswer);
    queue.enqueue('q1', new Blob(['a']));
    await queue.settled();
    expect(uploadAnswer).toHaveBeenCalledTimes(1);
    expect(states.at(-1)).toEqual([
      'q1',
      { phase: 'failed', message: 'Upload failed: The session is already analyzed.' },
    ]);
  });

  it('gives up after the last attempt', async () => {
    const uploadAnswer = vi.fn().mockRejectedValue(new ApiError('unreachable', 0));
    const { queue, states, sleeps } = queueWith(uploadAnswer);
    queue.enqueue('q1', new Blob(['a']));
    await queue.settled();
    expect(uploadAnswer).toHaveBeenCalledTimes(4);
    expect(sleeps).toEqual([100, 200, 250]);
    expect(states.at(-1)?.[1]).toMatchObject({ phase: 'failed' });
    expect(queue.failedQuestions()).toEqual(['q1']);
    uploadAnswer.mockResolvedValueOnce({ status: 'processing' });
    queue.enqueue('q1', new Blob(['a']));
    await queue.settled();
    expect(queue.failedQuestions()).toEqual([]);
  });

  it('honours Retry-After as a floor', () => {
    expect(retryDelayMs(1, policy, 3)).toBe(3000);
    expect(retryDelayMs(3, policy)).toBe(250);
  });

  it('counts a question that gave up as uploaded once its kept copy was sent by the resume', async () => {
    const uploadAnswer = vi.fn().mockRejectedValue(new ApiError('unreachable', 0));
    const { queue, states } = queueWith(uploadAnswer);
    queue.markUploaded('q1'); // not failed: nothing to say
    expect(states).toEqual([]);
    queue.enqueue('q1', new Blob(['a']));
    await queue.settled();
    expect(queue.failedQuestions()).toEqual(['q1']);
    queue.markUploaded('q1');
    expect(queue.failedQuestions()).toEqual([]);
    expect(states.at(-1)).toEqual(['q1', { phase: 'uploaded' }]);
  });
});

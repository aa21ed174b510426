import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import type { ApiClient } from '../api/api-client';
import { ApiError } from '../api/api-error';
import { DurableUploads } from './device-uploads';
import { pendingRecordings, sha256Hex } from './pending-recordings';

describe('uploads of recordings kept on the device', () => {
  it('resume the tus upload their first attempt created when the page tries again', async () => {
    const recording = new Blob(['spoken words'], { type: 'audio/webm' });
    const sha256 = await sha256Hex(recording);
    const uploadUrls: (string | undefined)[] = [];
    const uploadAnswerResumable = vi.fn(
      async (
        _s: string,
        _q: string,
        _r: Blob,
        options: { uploadUrl?: string; onUploadUrl?: (url: string) => void },
      ) => {
        uploadUrls.push(options.uploadUrl);
        if (uploadUrls.length === 1) {
          options.onUploadUrl?.('/api/uploads/first');
          throw new ApiError('The server could not be reached.', 0);
        }
        return { status: 'processing', transcription_status: 'queued', sha256 };
      },
    );
    const api = { token: 'carol', uploadAnswerResumable } as unknown as ApiClient;
    const durable = new DurableUploads(api, 'carol');
    await durable.keep('s1', 'q1', recording);

    await expect(durable.uploadAnswer('s1', 'q1', recording)).rejects.toThrow('could not be reached');
    await durable.uploadAnswer('s1', 'q1', recording);

    expect(uploadUrls).toEqual([undefined, '/api/uploads/first']);
    expect(await pendingRecordings('carol')).toEqual([]);
  });
});

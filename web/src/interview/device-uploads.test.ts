import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import type { ApiClient } from '../api/api-client';
import { ApiError } from '../api/api-error';
import { DurableUploads, KEPT_UPLOADED_EVENT, resumeKept } from './device-uploads';
import { keepRecording, pendingRecordings, sha256Hex } from './pending-recordings';

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

  it('are left alone while another tab holds their claim (Web Locks), and sent once it lets go', async () => {
    // jsdom has no Web Locks: a stand-in where another tab holds one lock
    const held = new Set(['interview-recording/dave/s1/q1']);
    const request = vi.fn(
      async (name: string, options: { ifAvailable?: boolean }, work: (lock: object | null) => Promise<unknown>) =>
        work(options.ifAvailable && held.has(name) ? null : { name }),
    );
    Object.defineProperty(navigator, 'locks', { value: { request }, configurable: true });
    try {
      const kept = await keepRecording({
        userId: 'dave',
        sessionId: 's1',
        questionId: 'q1',
        recording: new Blob(['words'], { type: 'audio/webm' }),
      });
      const api = {
        getSession: vi.fn(async () => ({ session_id: 's1', status: 'in_progress', answers: {} })),
        uploadAnswerResumable: vi.fn(async () => ({
          status: 'processing',
          transcription_status: 'queued',
          sha256: kept.sha256,
        })),
      };
      expect(await resumeKept(api as unknown as ApiClient, 'dave')).toEqual({ uploaded: 0, dropped: 0, failed: [] });
      expect(api.uploadAnswerResumable).not.toHaveBeenCalled();
      expect(await pendingRecordings('dave')).toHaveLength(1);

      held.clear();
      const said: unknown[] = [];
      const listener = (event: Event) => said.push((event as CustomEvent).detail);
      window.addEventListener(KEPT_UPLOADED_EVENT, listener);
      expect(await resumeKept(api as unknown as ApiClient, 'dave')).toEqual({ uploaded: 1, dropped: 0, failed: [] });
      window.removeEventListener(KEPT_UPLOADED_EVENT, listener);
      // the interview on this page learns that its answer is in
      expect(said).toEqual([{ sessionId: 's1', questionId: 'q1', sha256: kept.sha256 }]);
      expect(api.uploadAnswerResumable).toHaveBeenCalledTimes(1);
      expect(await pendingRecordings('dave')).toEqual([]);
      expect(request).toHaveBeenCalledWith(
        'interview-recording/dave/s1/q1',
        { ifAvailable: true },
        expect.any(Function),
      );
    } finally {
      delete (navigator as { locks?: unknown }).locks;
    }
  });
});

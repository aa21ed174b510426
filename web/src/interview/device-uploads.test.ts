import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import type { ApiClient } from '../api/api-client';
import { ApiError } from '../api/api-error';
import { DurableUploads, KEPT_UPLOADED_EVENT, resumeKept, sendKept } from './device-uploads';
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

  describe('when the tus upload they resume needs no more bytes, or is gone', () => {
    /** A kept recording with an upload begun earlier, and an API whose session holds `held` for the question. */
    async function keptWithUpload(userId: string, held: { sha256?: string; createdAt?: string } | null) {
      const kept = await keepRecording({
        userId,
        sessionId: 's1',
        questionId: 'q1',
        recording: new Blob([`words of ${userId}`], { type: 'audio/webm' }),
      });
      const pending = { ...kept, uploadUrl: '/api/uploads/begun' };
      const answers = held
        ? {
            q1: { audio: { sha256: held.sha256 ?? kept.sha256 }, created_at: held.createdAt ?? '2000-01-01T00:00:00Z' },
          }
        : {};
      const getSession = vi.fn(async () => ({ session_id: 's1', status: 'in_progress', answers }));
      return { kept, pending, getSession };
    }

    it('forget a recording whose resumed upload the server finished (HEAD), once the session holds its hash', async () => {
      const { pending, getSession } = await keptWithUpload('erin', {});
      const uploadAnswerResumable = vi.fn(async () => null);
      await sendKept({ getSession, uploadAnswerResumable } as unknown as ApiClient, pending);
      expect(uploadAnswerResumable).toHaveBeenCalledTimes(1);
      expect(getSession).toHaveBeenCalledTimes(1);
      expect(await pendingRecordings('erin')).toEqual([]);
    });

    it('keep it, and say so as a passing problem, while the session does not hold it yet', async () => {
      const { getSession, pending } = await keptWithUpload('frank', null);
      const uploadAnswerResumable = vi.fn(async () => null);
      const api = { getSession, uploadAnswerResumable } as unknown as ApiClient;
      const error = await sendKept(api, pending).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).isTransient).toBe(true);
      expect(await pendingRecordings('frank')).toHaveLength(1);
    });

    it('do not send it again when the upload is gone (its 202 lost) and the session holds it', async () => {
      const { pending, getSession } = await keptWithUpload('gina', {});
      const uploadAnswerResumable = vi.fn(async () => {
        throw new ApiError('The server does not know this upload.', 404);
      });
      await sendKept({ getSession, uploadAnswerResumable } as unknown as ApiClient, pending);
      expect(uploadAnswerResumable).toHaveBeenCalledTimes(1);
      expect(await pendingRecordings('gina')).toEqual([]);
    });

    it('send it as a new upload when the upload is gone (refused and removed) and the session lacks it', async () => {
      const { kept, pending, getSession } = await keptWithUpload('hugo', null);
      const uploadUrls: (string | undefined)[] = [];
      const uploadAnswerResumable = vi.fn(async (_s: string, _q: string, _r: Blob, options: { uploadUrl?: string }) => {
        uploadUrls.push(options.uploadUrl);
        if (options.uploadUrl) throw new ApiError('The server does not know this upload.', 404);
        return { status: 'processing', transcription_status: 'queued', sha256: kept.sha256 };
      });
      await sendKept({ getSession, uploadAnswerResumable } as unknown as ApiClient, pending);
      expect(uploadUrls).toEqual(['/api/uploads/begun', undefined]);
      expect(await pendingRecordings('hugo')).toEqual([]);
    });

    it('keep it and try again when a resume meets a 409, unless the session settled the question', async () => {
      const conflict = vi.fn(async () => {
        throw new ApiError('Upload-Offset is not where the upload is.', 409);
      });
      // the offset moved under the resume: kept, and the error says to try again
      const open = await keptWithUpload('iris', null);
      const error = await sendKept(
        { getSession: open.getSession, uploadAnswerResumable: conflict } as unknown as ApiClient,
        open.pending,
      ).catch((e: unknown) => e);
      expect((error as ApiError).isTransient).toBe(true);
      expect(await pendingRecordings('iris')).toHaveLength(1);
      // the session was analyzed meanwhile: nothing to upload to any more
      const closed = await keptWithUpload('jack', null);
      const getSession = vi.fn(async () => ({ session_id: 's1', status: 'analyzed', answers: {} }));
      await sendKept({ getSession, uploadAnswerResumable: conflict } as unknown as ApiClient, closed.pending);
      expect(await pendingRecordings('jack')).toEqual([]);
    });
  });
});

describe('answers streamed while they are recorded', () => {
  it('are finished by their stream: the 202 forgets the kept copy and nothing is sent again', async () => {
    const { TusServerInMemory } = await import('../test/tus-server-in-memory');
    const server = new TusServerInMemory();
    const uploadAnswerResumable = vi.fn();
    const api = { token: 'fay', baseUrl: '', tusHttpStack: server, uploadAnswerResumable } as unknown as ApiClient;
    const durable = new DurableUploads(api, 'fay');
    const take = durable.beginTake('s1', 'q1', 'audio/webm', () => undefined);
    const chunks = [new Blob([new Uint8Array([1, 2, 3])]), new Blob([new Uint8Array([4, 5])])];
    for (const chunk of chunks) take.add(chunk);
    const recording = new Blob(chunks, { type: 'audio/webm' });
    await vi.waitFor(() => expect(server.stored).toEqual([1, 2, 3, 4, 5]));

    await durable.keep('s1', 'q1', recording);
    expect(await durable.uploadAnswer('s1', 'q1', recording)).toEqual({ sha256: await sha256Hex(recording) });
    expect(server.length).toBe(5);
    expect(uploadAnswerResumable).not.toHaveBeenCalled();
    expect(await pendingRecordings('fay')).toEqual([]);
  });

  it('end their stream when handed over (keep), without waiting for the whole recording to be kept or the queue', async () => {
    const { TusServerInMemory } = await import('../test/tus-server-in-memory');
    const server = new TusServerInMemory();
    const api = { token: 'hal', baseUrl: '', tusHttpStack: server } as unknown as ApiClient;
    const durable = new DurableUploads(api, 'hal');
    const take = durable.beginTake('s1', 'q1', 'audio/webm', () => undefined);
    take.add(new Blob([new Uint8Array([1, 2])]));
    await vi.waitFor(() => expect(server.stored).toEqual([1, 2]));
    // Next while recording: the recorder's last chunk comes, and the recording is handed over at once
    take.add(new Blob([new Uint8Array([3])]));
    const recording = new Blob([new Uint8Array([1, 2, 3])], { type: 'audio/webm' });
    void durable.keep('s1', 'q1', recording);
    await vi.waitFor(() => expect(server.length).toBe(3));
    // the last chunk went with the length, in one PATCH
    const patches = server.requests.filter((r) => r.method === 'PATCH');
    expect(patches.map((p) => [p.offset, p.length, p.body])).toEqual([
      [0, undefined, [1, 2]],
      [2, '3', [3]],
    ]);
    expect(await durable.uploadAnswer('s1', 'q1', recording)).toEqual({ sha256: await sha256Hex(recording) });
    expect(server.requests.filter((r) => r.method === 'PATCH')).toHaveLength(2);
    expect(await pendingRecordings('hal')).toEqual([]);
  });

  it('resume the streamed upload, its length deferred, when its end could not be sent', async () => {
    const { TusServerInMemory } = await import('../test/tus-server-in-memory');
    const server = new TusServerInMemory();
    const calls: { uploadUrl?: string; lengthDeferred?: boolean }[] = [];
    const uploadAnswerResumable = vi.fn(
      async (_s: string, _q: string, r: Blob, options: { uploadUrl?: string; lengthDeferred?: boolean }) => {
        calls.push({ uploadUrl: options.uploadUrl, lengthDeferred: options.lengthDeferred });
        return { status: 'processing', transcription_status: 'queued', sha256: await sha256Hex(r) };
      },
    );
    const api = { token: 'gil', baseUrl: '', tusHttpStack: server, uploadAnswerResumable } as unknown as ApiClient;
    const durable = new DurableUploads(api, 'gil');
    const take = durable.beginTake('s1', 'q1', 'audio/webm', () => undefined);
    take.add(new Blob([new Uint8Array([9, 9])]));
    await vi.waitFor(() => expect(server.stored).toEqual([9, 9]));
    const recording = new Blob([new Uint8Array([9, 9]), new Uint8Array([8])], { type: 'audio/webm' });
    take.add(new Blob([new Uint8Array([8])]));
    server.dropPatches = 10; // the network goes as the answer is handed over
    const kept = await durable.keep('s1', 'q1', recording);
    expect(kept).toMatchObject({ uploadUrl: '/api/uploads/u1', deferred: true });

    await durable.uploadAnswer('s1', 'q1', recording);
    expect(calls).toEqual([{ uploadUrl: '/api/uploads/u1', lengthDeferred: true }]);
    expect(await pendingRecordings('gil')).toEqual([]);
  });
});

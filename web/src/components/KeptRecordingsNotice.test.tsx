import 'fake-indexeddb/auto';
import { act, render, screen, waitFor } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiClient } from '../api/api-client';
import { ApiError } from '../api/api-error';
import {
  DeviceStorageError,
  forgetRecording,
  keepRecording,
  pendingRecordings,
  sha256Hex,
} from '../interview/pending-recordings';
import { KeptRecordingsNotice, OFFLINE_SENTENCE } from './KeptRecordingsNotice';

const recording = (text: string) => new Blob([text], { type: 'audio/webm' });

function fakeApi(session: unknown, uploaded?: (sha: string) => void) {
  return {
    token: 'alice',
    getSession: vi.fn(async () => session),
    uploadAnswerResumable: vi.fn(async (_s: string, _q: string, blob: Blob) => {
      const sha256 = await sha256Hex(blob);
      uploaded?.(sha256);
      return { status: 'processing', transcription_status: 'queued', sha256 };
    }),
  };
}

const openSession = { session_id: 's1', status: 'in_progress', answers: {} };

beforeEach(async () => {
  for (const user of ['alice', 'bob']) for (const r of await pendingRecordings(user)) await forgetRecording(r);
});

describe('recordings kept on the device', () => {
  it('are forgotten only by the hash they were kept with', async () => {
    const kept = await keepRecording({
      userId: 'alice',
      sessionId: 's1',
      questionId: 'q1',
      recording: recording('one'),
    });
    expect(kept.sha256).toBe(await sha256Hex(recording('one')));
    await forgetRecording({ ...kept, sha256: 'another' });
    expect(await pendingRecordings('alice')).toHaveLength(1);
    expect(await pendingRecordings('bob')).toHaveLength(0);
    await forgetRecording(kept);
    expect(await pendingRecordings('alice')).toHaveLength(0);
  });

  it('says a full device as a sentence', async () => {
    const open = vi.spyOn(indexedDB, 'open').mockImplementation(() => {
      const request = {} as IDBOpenDBRequest;
      setTimeout(() => {
        Object.defineProperty(request, 'error', { value: new DOMException('full', 'QuotaExceededError') });
        request.onerror?.(new Event('error'));
      });
      return request;
    });
    const saving = keepRecording({ userId: 'alice', sessionId: 's1', questionId: 'q1', recording: recording('x') });
    await expect(saving).rejects.toThrow(DeviceStorageError);
    await expect(saving).rejects.toThrow(/no room left to keep your recording/);
    open.mockRestore();
  });

  it('says they are safe while offline, and uploads them once back online', async () => {
    await keepRecording({ userId: 'alice', sessionId: 's1', questionId: 'q1', recording: recording('answer') });
    let online = false;
    const uploaded: string[] = [];
    const api = fakeApi(openSession, (sha) => uploaded.push(sha));
    render(<KeptRecordingsNotice api={api as unknown as ApiClient} isOnline={() => online} />);
    expect((await screen.findByTestId('kept-recordings')).textContent).toBe(OFFLINE_SENTENCE);
    expect(api.uploadAnswerResumable).not.toHaveBeenCalled();

    online = true;
    act(() => void window.dispatchEvent(new Event('online')));
    await waitFor(() => expect(screen.queryByTestId('kept-recordings')).toBeNull());
    expect(uploaded).toEqual([await sha256Hex(recording('answer'))]);
    expect(await pendingRecordings('alice')).toHaveLength(0);
  });

  it('never uploads over an answer replaced on the server since, nor one already there', async () => {
    const old = await keepRecording({
      userId: 'alice',
      sessionId: 's1',
      questionId: 'q1',
      recording: recording('old'),
    });
    const same = await keepRecording({
      userId: 'alice',
      sessionId: 's1',
      questionId: 'q2',
      recording: recording('same'),
    });
    const api = fakeApi({
      ...openSession,
      // keyed by question id, as GET /api/sessions/:id sends them
      answers: {
        q1: { question_id: 'q1', created_at: new Date(old.savedAt + 1000).toISOString(), audio: { sha256: 'newer' } },
        q2: {
          question_id: 'q2',
          created_at: new Date(same.savedAt - 1000).toISOString(),
          audio: { sha256: same.sha256 },
        },
      },
    });
    render(<KeptRecordingsNotice api={api as unknown as ApiClient} isOnline={() => true} />);
    await waitFor(async () => expect(await pendingRecordings('alice')).toHaveLength(0));
    expect(api.uploadAnswerResumable).not.toHaveBeenCalled();
  });

  it('keeps a recording the server refused for now (network), and drops one it refused for good', async () => {
    await keepRecording({ userId: 'alice', sessionId: 's1', questionId: 'q1', recording: recording('a') });
    const api = fakeApi(openSession);
    api.uploadAnswerResumable.mockRejectedValueOnce(new ApiError('The server could not be reached.', 0));
    const { unmount } = render(<KeptRecordingsNotice api={api as unknown as ApiClient} isOnline={() => true} />);
    await waitFor(() => expect(api.uploadAnswerResumable).toHaveBeenCalledTimes(1));
    await waitFor(async () =>
      expect(screen.getByTestId('kept-recordings').textContent).toMatch(/could not be reached/),
    );
    expect(await pendingRecordings('alice')).toHaveLength(1);
    unmount();

    // analyzed while the upload was being sent: the 409 says so, and the session confirms it
    api.uploadAnswerResumable.mockRejectedValueOnce(new ApiError('This session has already been analyzed.', 409));
    api.getSession.mockResolvedValueOnce(openSession).mockResolvedValueOnce({ ...openSession, status: 'analyzed' });
    render(<KeptRecordingsNotice api={api as unknown as ApiClient} isOnline={() => true} />);
    await waitFor(async () => expect(await pendingRecordings('alice')).toHaveLength(0));
  });
});

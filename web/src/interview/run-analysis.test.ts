import { describe, expect, it, vi } from 'vitest';
import { runAnalysis } from './run-analysis';

const pending = (pending_count: number, processing_count: number) => ({
  httpStatus: 202,
  retryAfterSeconds: 3,
  body: { status: 'transcription_pending', message: '', pending_count, processing_count, retry_after: 3 },
});

describe('runAnalysis', () => {
  it('waits for a change or Retry-After while transcriptions are pending, then returns the scores', async () => {
    const scored = {
      status: 'success',
      final_score: 70,
      scored_count: 2,
      answers: [],
      unanswered: [],
      analyzed_at: '',
    };
    const analyze = vi
      .fn()
      .mockResolvedValueOnce(pending(1, 1))
      .mockResolvedValueOnce(pending(0, 1))
      .mockResolvedValueOnce({ httpStatus: 200, body: scored });
    const onPending = vi.fn();
    const waitForChange = vi.fn(async () => undefined);
    const end = await runAnalysis({ api: { analyze }, sessionId: 's1', onPending, waitForChange });
    expect(end).toEqual({ kind: 'scored', result: scored });
    expect(onPending.mock.calls).toEqual([[2], [1]]);
    expect(waitForChange).toHaveBeenCalledWith(3000);
  });

  it('stops at a failed transcription with the failed questions', async () => {
    const failed = [{ question_id: 'q2', error: 'provider said no' }];
    const analyze = vi
      .fn()
      .mockResolvedValue({ httpStatus: 409, body: { type: '/problems/transcription-failed', status: 409, failed } });
    const end = await runAnalysis({ api: { analyze }, sessionId: 's1', onPending: vi.fn(), waitForChange: vi.fn() });
    expect(end).toEqual({ kind: 'failed', failed });
  });
});

import type { ApiClient } from '../api/api-client';
import { ApiError } from '../api/api-error';
import type { AnalysisFailed, AnalysisPending, AnalysisResult } from '../api/types';

export type AnalysisEnd =
  { kind: 'scored'; result: AnalysisResult } | { kind: 'failed'; failed: AnalysisFailed['failed'] };

export interface AnalysisOptions {
  api: Pick<ApiClient, 'analyze'>;
  sessionId: string;
  signal?: AbortSignal;
  /** Told how many answers are still being transcribed, each time the server says. */
  onPending: (remaining: number) => void;
  /** Waits for the next live status change, or `ms` (the server's Retry-After) at the latest. */
  waitForChange: (ms: number) => Promise<void>;
  /** Server errors in a row (503s, dropped connections) before giving up. */
  maxTransientErrors?: number;
}

/**
 * Asks the server to score the interview until it can: while transcriptions are pending it waits
 * for the live stream to report a change, or for the server's Retry-After, and asks again.
 */
export async function runAnalysis(options: AnalysisOptions): Promise<AnalysisEnd> {
  const { api, sessionId, signal, onPending, waitForChange, maxTransientErrors = 5 } = options;
  let transientErrors = 0;
  for (;;) {
    if (signal?.aborted) throw new DOMException('analysis cancelled', 'AbortError');
    let response;
    try {
      response = await api.analyze(sessionId, signal);
      transientErrors = 0;
    } catch (error) {
      if (!(error instanceof ApiError) || !error.isTransient || ++transientErrors > maxTransientErrors) throw error;
      await waitForChange(Math.max(2_000, (error.retryAfterSeconds ?? 0) * 1000));
      continue;
    }
    if (response.httpStatus === 200) return { kind: 'scored', result: response.body as AnalysisResult };
    if (response.httpStatus === 409) return { kind: 'failed', failed: (response.body as AnalysisFailed).failed ?? [] };
    const pending = response.body as AnalysisPending;
    onPending((pending.pending_count ?? 0) + (pending.processing_count ?? 0));
    await waitForChange((response.retryAfterSeconds ?? pending.retry_after ?? 2) * 1000);
  }
}

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ApiClient } from '../api/api-client';
import { ApiError } from '../api/api-error';
import { followSessionEvents, type ServerSentEvent } from '../api/session-events';
import type { AnswerStatusView } from '../api/types';
import type { AnswerProgress } from './answer-indicator';
import { DurableUploads, KEPT_UPLOADED_EVENT, userIdOf, type KeptUploaded } from './device-uploads';
import { DEFAULT_UPLOAD_POLICY, UploadQueue, type UploadState } from './upload-queue';

function isStatusView(value: unknown): value is AnswerStatusView {
  return (
    typeof (value as AnswerStatusView)?.question_id === 'string' &&
    typeof (value as AnswerStatusView)?.status === 'string'
  );
}

/**
 * Every answer's progress in one session: uploads run in the background through an UploadQueue,
 * transcription states arrive on the live event stream. `waitForChange` lets the analysis wait for
 * the next change instead of polling blindly.
 */
export function useAnswerProgress(api: ApiClient, sessionId: string) {
  const [progress, setProgress] = useState<Record<string, AnswerProgress>>({});
  const recordings = useRef(new Map<string, Blob>());
  const changeListeners = useRef(new Set<() => void>());
  /** Recordings being kept on the device: their uploads start once they are. */
  const submitting = useRef(new Set<Promise<unknown>>());

  const update = useCallback((questionId: string, change: (previous: AnswerProgress) => AnswerProgress) => {
    // own keys only: a question id may be "toString", which every object inherits
    setProgress((all) => ({ ...all, [questionId]: change((Object.hasOwn(all, questionId) && all[questionId]) || {}) }));
  }, []);

  /** Asks the server for every answer's state: when no event of this page's own upload will come. */
  const refreshStatus = useCallback(async () => {
    try {
      const status = await api.sessionStatus(sessionId);
      for (const view of status.answers.filter(isStatusView)) {
        update(view.question_id, (previous) => ({ ...previous, transcription: view }));
      }
    } catch {
      // the live stream tells soon enough
    }
  }, [api, sessionId, update]);

  // every recording is kept on the device before its upload starts, and uploaded resumably; one that
  // another tab sent meanwhile gets its state from the server
  const durable = useMemo(
    () => new DurableUploads(api, userIdOf(api.token), () => void refreshStatus()),
    [api, refreshStatus],
  );
  const queue = useMemo(
    () =>
      new UploadQueue(
        durable,
        sessionId,
        (questionId, upload: UploadState) =>
          update(questionId, (previous) => ({
            ...previous,
            upload,
            retryError: undefined,
            // a new upload replaces the answer: what was said about the old one no longer applies
            transcription: upload.phase === 'uploading' ? undefined : previous.transcription,
          })),
        DEFAULT_UPLOAD_POLICY,
        undefined,
        (questionId) => durable.release(sessionId, questionId),
      ),
    [durable, sessionId, update],
  );

  useEffect(() => {
    const stop = new AbortController();
    const onEvent = (event: ServerSentEvent) => {
      const data = event.data as { answers?: unknown[] };
      const views =
        event.event === 'snapshot' && Array.isArray(data?.answers)
          ? data.answers.filter(isStatusView)
          : event.event === 'answer' && isStatusView(event.data)
            ? [event.data]
            : [];
      for (const view of views) update(view.question_id, (previous) => ({ ...previous, transcription: view }));
      for (const listener of changeListeners.current) listener();
    };
    void followSessionEvents(api, sessionId, onEvent, stop.signal);
    return () => stop.abort();
  }, [api, sessionId, update]);

  // the resume of kept recordings sent one whose upload gave up here: it is no longer failed
  useEffect(() => {
    const onKeptUploaded = (event: Event) => {
      const { sessionId: of, questionId, sha256 } = (event as CustomEvent<KeptUploaded>).detail;
      if (of === sessionId && durable.keptSha256(sessionId, questionId) === sha256) queue.markUploaded(questionId);
    };
    window.addEventListener(KEPT_UPLOADED_EVENT, onKeptUploaded);
    return () => window.removeEventListener(KEPT_UPLOADED_EVENT, onKeptUploaded);
  }, [durable, queue, sessionId]);

  const submit = useCallback(
    (questionId: string, recording: Blob) => {
      recordings.current.set(questionId, recording);
      const kept = durable.keep(sessionId, questionId, recording).then(() => {
        if (durable.storageProblem) {
          update(questionId, (previous) => ({ ...previous, retryError: durable.storageProblem ?? undefined }));
        }
        queue.enqueue(questionId, recording);
      });
      submitting.current.add(kept);
      void kept.finally(() => submitting.current.delete(kept));
    },
    [durable, queue, sessionId, update],
  );

  const retry = useCallback(
    async (questionId: string, failedPart: 'upload' | 'transcription') => {
      const recording = recordings.current.get(questionId);
      if (failedPart === 'upload' && recording) return queue.enqueue(questionId, recording);
      try {
        await api.retryTranscription(sessionId, questionId);
        update(questionId, (previous) => ({
          ...previous,
          retryError: undefined,
          transcription: previous.transcription && { ...previous.transcription, status: 'queued' },
        }));
      } catch (error) {
        // 410: the server no longer has the audio; the copy kept here can be sent again
        if (error instanceof ApiError && error.status === 410 && recording) return queue.enqueue(questionId, recording);
        const message = error instanceof ApiError ? error.message : 'The retry could not be sent.';
        update(questionId, (previous) => ({ ...previous, retryError: message }));
      }
    },
    [api, queue, sessionId, update],
  );

  /** Resolves on the next status change, or after `ms` at the latest. */
  const waitForChange = useCallback(
    (ms: number) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          changeListeners.current.delete(done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        changeListeners.current.add(done);
      }),
    [],
  );

  /** Waits for every upload to succeed or give up; returns the questions whose upload gave up. */
  const settleUploads = useCallback(async () => {
    await Promise.all([...submitting.current]);
    await queue.settled();
    return queue.failedQuestions();
  }, [queue]);

  /** A question's next take: its chunks kept on the device and streamed to the server as they are recorded. */
  const beginTakeFor = useCallback(
    (questionId: string) => (mimeType: string, onProblem: (sentence: string) => void) =>
      durable.beginTake(sessionId, questionId, mimeType, onProblem),
    [durable, sessionId],
  );

  return { progress, submit, retry, waitForChange, settleUploads, beginTakeFor };
}

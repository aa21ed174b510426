import { useCallback, useEffect, useState } from 'react';
import type { ApiClient } from '../api/api-client';
import { terminateUpload } from '../api/live-upload';
import { ApiError } from '../api/api-error';
import { resumeKept, userIdOf } from '../interview/device-uploads';
import { forgetTake, recordingOf, takeKeyOf, unfinishedTakes, type LiveTake } from '../interview/live-recordings';
import { keepRecording, pendingRecordings, keyOf } from '../interview/pending-recordings';
import { activeTakes } from '../interview/recording-take';

/** "40 seconds", "1 minute 5 seconds": how long the recording that was cut off is. */
export function lengthSentence(durationMs: number): string {
  const total = Math.max(1, Math.round(durationMs / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  const part = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (minutes === 0) return part(seconds, 'second');
  return seconds === 0 ? part(minutes, 'minute') : `${part(minutes, 'minute')} ${part(seconds, 'second')}`;
}

/**
 * Answers cut off mid-recording by a reload, a crash or a dead battery: their chunks were kept on
 * the device as they were recorded (live-recordings). Each is offered: keep it (what was said is
 * uploaded, resuming the upload that was streaming it) or discard it, to record the answer again
 * (the upload is terminated on the server, the chunks dropped).
 */
export function UnfinishedRecordingsNotice({ api }: { api: ApiClient }) {
  const [takes, setTakes] = useState<LiveTake[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const userId = userIdOf(api.token);

  const refresh = useCallback(async () => {
    const found = (await unfinishedTakes(userId)).filter((t) => !activeTakes.has(takeKeyOf(t)));
    // handed over whole before the page went (kept as a pending recording since it started): not unfinished
    const kept = new Map((await pendingRecordings(userId)).map((p) => [keyOf(p), p.savedAt]));
    const open: LiveTake[] = [];
    for (const take of found) {
      const savedAt = kept.get(keyOf(take));
      if (take.chunks === 0 || (savedAt !== undefined && savedAt >= take.startedAt)) await forgetTake(take);
      else open.push(take);
    }
    setTakes(open);
  }, [userId]);

  useEffect(() => {
    void refresh().catch(() => undefined); // no IndexedDB: nothing can have been kept
  }, [refresh]);

  async function keep(take: LiveTake) {
    setProblem(null);
    try {
      const recording = await recordingOf(take);
      const live = take.uploadUrl ? { uploadUrl: take.uploadUrl, deferred: true } : {};
      const { userId: user, sessionId, questionId } = take;
      await keepRecording({ userId: user, sessionId, questionId, recording, ...live });
      await forgetTake(take);
      await refresh();
      const report = await resumeKept(api, userId); // KeptRecordingsNotice says how it goes from here
      if (report.failed[0]) setProblem(report.failed[0]);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : 'The recording could not be kept.');
    }
  }

  async function discard(take: LiveTake) {
    setProblem(null);
    try {
      if (take.uploadUrl) await terminateUpload(take.uploadUrl, api.token);
      await forgetTake(take);
      await refresh();
    } catch (error) {
      setProblem(error instanceof ApiError ? error.message : 'The recording could not be discarded; try again.');
    }
  }

  if (takes.length === 0 && !problem) return null;
  return (
    <section className="notice" role="status" data-testid="unfinished-recordings">
      {takes.map((take) => (
        <p key={takeKeyOf(take)}>
          An answer to question {take.questionId} was cut off after {lengthSentence(take.durationMs)} of recording; it
          is kept on this device.{' '}
          <button type="button" className="button" onClick={() => void keep(take)}>
            Keep it (upload the {lengthSentence(take.durationMs)})
          </button>{' '}
          <button type="button" className="button" onClick={() => void discard(take)}>
            Discard it
          </button>
        </p>
      ))}
      {problem && <p>{problem}</p>}
    </section>
  );
}

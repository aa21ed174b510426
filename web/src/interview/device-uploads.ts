import { ApiError } from '../api/api-error';
import type { ApiClient } from '../api/api-client';
import type { UploadAccepted } from '../api/types';
import { RecordingTake } from './recording-take';
import { claimAcrossTabs } from './tab-claims';
import {
  DeviceStorageError,
  forgetRecording,
  keyOf,
  keepRecording,
  keptRecording,
  pendingRecordings,
  rememberUploadUrl,
  type PendingRecording,
} from './pending-recordings';

/** Said on window when the resume of kept recordings got a 202 for one (detail: KeptUploaded). */
export const KEPT_UPLOADED_EVENT = 'interview:kept-recording-uploaded';

export interface KeptUploaded {
  sessionId: string;
  questionId: string;
  sha256: string;
}

/** Recordings this page is uploading right now: the resume on open leaves them to their own queue. */
const claimed = new Set<string>();

/** The JWT's subject: recordings kept on the device belong to the user who made them. */
export function userIdOf(token: string): string {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const sub = (JSON.parse(atob(payload)) as { sub?: unknown }).sub;
    return typeof sub === 'string' ? sub : token;
  } catch {
    return token;
  }
}

/**
 * Sends one kept recording through the resumable endpoint (resuming its earlier tus upload), and
 * forgets it only when the server holds it: its 202 carries the recording's SHA-256, or, when the
 * upload resumed needed no more bytes (a HEAD said so) or is gone (its 202 was lost, or the server
 * removed it), the session's answer has that SHA-256 (or a newer answer stands). An upload that is
 * gone and whose recording the session does not hold is sent again as a new upload; a 409 (the
 * offset moved under the resume, or the session refused it) is a reason to try again, unless the
 * session holds the recording, a newer answer, or is closed.
 */
export async function sendKept(
  api: ApiClient,
  pending: PendingRecording,
  onUploadUrl?: (url: string) => void,
): Promise<void> {
  const send = (uploadUrl?: string) =>
    api.uploadAnswerResumable(pending.sessionId, pending.questionId, pending.recording, {
      uploadUrl,
      lengthDeferred: !!uploadUrl && !!pending.deferred,
      onUploadUrl: (url) => {
        onUploadUrl?.(url);
        void rememberUploadUrl(pending, url).catch(() => undefined);
      },
    });
  let accepted: UploadAccepted | null;
  try {
    accepted = await send(pending.uploadUrl);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const gone = !!pending.uploadUrl && (error.status === 404 || error.status === 410);
    // 409: the offset moved under this resume (another writer let go meanwhile), or the session refused it
    if (!gone && error.status !== 409) throw error;
    if (await settledOnServer(api, pending)) return forgetRecording(pending);
    if (!gone) throw new ApiError('The upload moved on while it was being resumed; resuming it again.', 503);
    accepted = await send(undefined);
  }
  if (accepted === null) {
    if (!(await settledOnServer(api, pending))) {
      throw new ApiError('The server has not confirmed the recording yet; asking again.', 503);
    }
  } else if (accepted.sha256 !== pending.sha256) {
    throw new ApiError('The server received different bytes than were recorded; sending the answer again.', 500);
  }
  await forgetRecording(pending);
}

/**
 * The upload queue's way to send a recording: kept on the device first (the moment it is
 * submitted), then uploaded resumably. A device that cannot keep it still uploads it.
 */
export class DurableUploads {
  private readonly kept = new Map<string, PendingRecording | Promise<PendingRecording | null>>();
  /** The take being recorded, or recorded and not yet handed over, of each question. */
  private readonly takes = new Map<string, RecordingTake>();
  storageProblem: string | null = null;
  /** Whether the device's failure to keep a recording while it is made was said already (said once). */
  private liveProblemSaid = false;

  constructor(
    private readonly api: ApiClient,
    private readonly userId: string,
    /** A recording turned out to be sent by another tab: no events of this page's upload will follow. */
    private readonly onSentElsewhere?: (questionId: string) => void,
  ) {}

  /**
   * Call when Record is pressed: the take keeps each chunk on the device and streams it to the
   * server as it is recorded. A take of the question not handed over (Record again) is discarded,
   * here and on the server. `onProblem` hears, once per page, that the device cannot keep it.
   */
  beginTake(sessionId: string, questionId: string, mimeType: string, onProblem: (sentence: string) => void) {
    const key = keyOf({ userId: this.userId, sessionId, questionId });
    const previous = this.takes.get(key);
    if (previous) void previous.discard().catch(() => undefined);
    const take = new RecordingTake(this.api, { userId: this.userId, sessionId, questionId }, mimeType, (sentence) => {
      if (this.liveProblemSaid) return;
      this.liveProblemSaid = true;
      onProblem(sentence);
    });
    this.takes.set(key, take);
    return take;
  }

  /** Call the moment a recording stops, before its upload starts. */
  keep(sessionId: string, questionId: string, recording: Blob): Promise<PendingRecording | null> {
    const key = keyOf({ userId: this.userId, sessionId, questionId });
    claimed.add(key);
    const take = this.takes.get(key);
    // its stream ends now, not once the whole recording is kept below and the queue takes it: every
    // chunk it sends is kept on the device already (live-recordings), and the candidate waits for
    // this 202. uploadAnswer gets the same outcome from it.
    void take?.finish().catch(() => undefined);
    // a take streamed while recording: a reload resumes its upload (of deferred length)
    const live = take?.url ? { uploadUrl: take.url, deferred: true } : {};
    const saving = keepRecording({ userId: this.userId, sessionId, questionId, recording, ...live }).then(
      (pending) => {
        this.kept.set(key, pending);
        void take?.forget(); // kept whole now: the chunks are not needed
        // the stream's upload created after the recording was kept: a reload must resume it too
        if (take && !pending.uploadUrl) {
          void take.whenUrl.then(async (uploadUrl) => {
            await rememberUploadUrl(pending, uploadUrl, true).catch(() => undefined);
            const now = this.keptNow(key);
            if (now?.sha256 === pending.sha256 && !now.uploadUrl)
              this.kept.set(key, { ...now, uploadUrl, deferred: true });
          });
        }
        return pending;
      },
      (error: Error) => {
        // a full device is said; a browser without IndexedDB (private mode, tests) just uploads
        if (error instanceof DeviceStorageError && error.kind === 'quota') this.storageProblem = error.message;
        return null;
      },
    );
    this.kept.set(key, saving);
    return saving;
  }

  /** Same shape as ApiClient.uploadAnswer, for the upload queue. */
  async uploadAnswer(sessionId: string, questionId: string, recording: Blob): Promise<unknown> {
    const key = keyOf({ userId: this.userId, sessionId, questionId });
    const pending = await this.kept.get(key);
    const take = this.takes.get(key);
    if (take) {
      // streamed while recording: only its end is left to send; a failure is resumed below, from `url`
      this.takes.delete(key);
      const accepted = await take.finish().catch(() => undefined);
      if (accepted && (!pending || accepted.sha256 === pending.sha256)) {
        if (pending) await forgetRecording(pending);
        void take.forget();
        claimed.delete(key);
        return accepted;
      }
      if (pending && take.url) {
        const withUrl = { ...pending, uploadUrl: take.url, deferred: true };
        this.kept.set(key, withUrl);
        await rememberUploadUrl(pending, take.url, true).catch(() => undefined);
      }
      // without a kept copy, the recording goes the simple way (below): the stream's upload goes
      if (!pending) void take.discard().catch(() => undefined);
    }
    // a device that could not keep the recording sends it the simple way (one multipart request)
    if (!pending || pending.recording !== recording) return this.api.uploadAnswer(sessionId, questionId, recording);
    // one tab at a time: another tab of this user may be sending the same kept recording
    await claimAcrossTabs(key, 'wait', async () => {
      const stored = await keptRecording(pending);
      // gone: another tab's upload got its 202 while this one waited; its status is the server's to tell
      if (!stored) return this.onSentElsewhere?.(questionId);
      if (stored.sha256 !== pending.sha256) return; // a newer take replaced it: that one goes instead
      const known = stored.uploadUrl ? stored : this.keptNow(key);
      // a retry resumes the tus upload an earlier attempt (of this tab or another) created, as a reload would
      await sendKept(this.api, { ...pending, uploadUrl: known?.uploadUrl, deferred: known?.deferred }, (url) => {
        // unless a newer recording took the question over meanwhile
        const now = this.keptNow(key);
        if (now?.recording === recording) this.kept.set(key, { ...now, uploadUrl: url, deferred: false });
      });
    });
    claimed.delete(key);
    return undefined;
  }

  /** The SHA-256 of the recording this page kept for the question (once kept). */
  keptSha256(sessionId: string, questionId: string): string | undefined {
    return this.keptNow(keyOf({ userId: this.userId, sessionId, questionId }))?.sha256;
  }

  /** The recording kept for `key`, once its keeping has finished. */
  private keptNow(key: string): PendingRecording | undefined {
    const kept = this.kept.get(key);
    return kept instanceof Promise ? undefined : (kept ?? undefined);
  }

  /** After the queue gave up: the resume (back online, next open) may take the recording over. */
  release(sessionId: string, questionId: string): void {
    claimed.delete(keyOf({ userId: this.userId, sessionId, questionId }));
  }
}

/** Whether the server already holds this recording, or a newer answer that must not be overwritten. */
async function settledOnServer(api: ApiClient, pending: PendingRecording): Promise<boolean> {
  const session = await api.getSession(pending.sessionId).catch((error: unknown) => {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  });
  if (!session) return true; // the session is gone (erased): nothing to upload to
  if (session.status !== 'in_progress') return true;
  // own keys only: a question id may be "toString", which every object inherits
  const answer =
    session.answers && Object.hasOwn(session.answers, pending.questionId)
      ? session.answers[pending.questionId]
      : undefined;
  if (!answer) return false;
  if (answer.audio?.sha256 === pending.sha256) return true;
  return Date.parse(answer.created_at) > pending.savedAt;
}

export interface ResumeReport {
  uploaded: number;
  dropped: number;
  failed: string[];
}

/** Uploads the signed-in user's kept recordings that no page is uploading (on open, back online). */
export async function resumeKept(api: ApiClient, userId: string): Promise<ResumeReport> {
  const report: ResumeReport = { uploaded: 0, dropped: 0, failed: [] };
  for (const pending of await pendingRecordings(userId)) {
    const key = keyOf(pending);
    if (claimed.has(key)) continue;
    claimed.add(key);
    try {
      // another tab sending it keeps it: this one leaves it alone and looks again later
      await claimAcrossTabs(key, 'ifAvailable', async () => {
        const current = await keptRecording(pending);
        if (!current || current.sha256 !== pending.sha256) return; // uploaded or replaced meanwhile
        if (await settledOnServer(api, current)) {
          await forgetRecording(current);
          report.dropped++;
          return;
        }
        await sendKept(api, current);
        report.uploaded++;
        // an interview on this page whose own upload of it gave up learns it is in after all
        const detail: KeptUploaded = {
          sessionId: current.sessionId,
          questionId: current.questionId,
          sha256: current.sha256,
        };
        window.dispatchEvent(new CustomEvent(KEPT_UPLOADED_EVENT, { detail }));
      });
    } catch (error) {
      if (error instanceof ApiError && !error.isTransient) {
        await forgetRecording(pending); // refused (the session closed meanwhile): keeping it helps nobody
        report.dropped++;
      } else report.failed.push(error instanceof Error ? error.message : 'The upload failed.');
    } finally {
      claimed.delete(key);
    }
  }
  return report;
}

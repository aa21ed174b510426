import type { AnswerPiece } from '../../interview-record/answer-queue-state.schema.js';
import type { Pause as Silence } from '../speech/speech-measure.js';
import type { TranscriptionResult } from './transcription-provider.js';

export interface PlannedPiece {
  start_seconds: number;
  end_seconds: number;
}

export interface PieceLimits {
  /** The provider's file size limit. */
  maxBytes: number;
  /** The longest piece wanted (parallelism, and providers' own duration limits). */
  maxSeconds: number;
}

/** Room left under the byte limit for variable bitrate and container overhead. */
const SIZE_MARGIN = 0.85;
/** Pieces aim at this share of the longest allowed, so that pauses before and after are in reach. */
const AIM = 0.9;
/** A cut may move this share of the longest allowed from its aim, to land in a pause. */
const REACH = 0.1;

/**
 * Where to cut a compressed recording: into pieces of about equal length no longer than the limits
 * allow, each ending in the middle of the pause nearest its aim, so that no word is cut in two;
 * where the speaker never pauses near it, at the aim itself.
 */
export function planPieces(
  durationSeconds: number,
  compressedBytes: number,
  silences: Silence[],
  limits: PieceLimits,
): PlannedPiece[] {
  const bytesPerSecond = compressedBytes / durationSeconds;
  const longest = Math.min(limits.maxSeconds, (limits.maxBytes * SIZE_MARGIN) / bytesPerSecond);
  if (!(longest >= 1)) throw new Error(`pieces would be shorter than a second (${longest} s)`);
  const ms = (t: number) => Math.round(t * 1000) / 1000;
  const pieces: PlannedPiece[] = [];
  let start = 0;
  while (durationSeconds - start > longest) {
    const count = Math.ceil((durationSeconds - start) / (longest * AIM));
    const aim = start + (durationSeconds - start) / count;
    const latest = Math.min(aim + longest * REACH, start + longest);
    let cut = aim;
    let nearest = Infinity;
    for (const silence of silences) {
      const middle = (silence.start + silence.end) / 2;
      if (middle >= aim - longest * REACH && middle <= latest && Math.abs(middle - aim) < nearest) {
        cut = middle;
        nearest = Math.abs(middle - aim);
      }
    }
    pieces.push({ start_seconds: ms(start), end_seconds: ms(cut) });
    start = ms(cut);
  }
  pieces.push({ start_seconds: start, end_seconds: ms(durationSeconds) });
  return pieces;
}

/** The pieces' results as one transcript, with segment times counted from the recording's start. */
export function joinPieces(pieces: AnswerPiece[], duration: number): TranscriptionResult {
  const languages = new Map<string, number>();
  for (const p of pieces) if (p.language) languages.set(p.language, (languages.get(p.language) ?? 0) + 1);
  const language = [...languages.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
  const timed = pieces.every((p) => Array.isArray(p.segments));
  const withoutHints = pieces.some((p) => p.without_hints);
  const ms = (t: number) => Math.round(t * 1000) / 1000;
  return {
    text: pieces
      .map((p) => p.text ?? '')
      .filter(Boolean)
      .join(' '),
    language,
    duration_seconds: ms(duration),
    segments: timed
      ? pieces.flatMap((p) =>
          p.segments!.map((s) => ({
            start: ms(p.start_seconds + s.start),
            end: ms(p.start_seconds + s.end),
            text: s.text,
          })),
        )
      : null,
    ...(withoutHints ? { withoutHints: true } : {}),
  };
}

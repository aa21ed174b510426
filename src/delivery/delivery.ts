/**
 * How an answer was delivered (pace, pauses, filler words), from the speech measured on its audio
 * (stored on the answer by the transcription job) and its transcript. Pure functions: no I/O.
 *
 * Speaking time is the stretch from the first to the last speech minus every pause of at least the
 * pause threshold: the short gaps between words and phrases are part of speaking. Pace is words per
 * minute of speaking time, so a candidate who stops to think is not reported as slow.
 */

import type { SpeechDetector } from '../transcription/speech/speech-measure.js';

/** What the transcription job measured on the audio (seconds); null when it could not measure. */
export interface MeasuredSpeech {
  duration_seconds: number;
  speech_seconds: number;
  /** Silences of at least the detector's min_pause_seconds between the first and the last speech. */
  pauses: Array<{ start: number; end: number }>;
  /** Absent when measured before the voice-activity detector (by loudness). */
  detector?: SpeechDetector;
}

/** The fields of an answer that delivery reads (the speech fields exist once audio is measured). */
export interface DeliveryInput {
  transcript: string | null;
  duration_seconds?: number | null;
  speech?: MeasuredSpeech | null;
  no_speech?: boolean;
  suspect_hallucination?: boolean;
  /** True when the transcription provider was asked to keep filler words ("um", "uh"). */
  disfluencies_kept?: boolean;
}

/** unanswered: nothing uploaded; no_speech: nothing was heard; not_measured: the audio was not measured. */
export type DeliveryStatus = 'measured' | 'unanswered' | 'no_speech' | 'not_measured';

export interface AnswerDelivery {
  status: DeliveryStatus;
  duration_seconds: number | null;
  speaking_seconds: number | null;
  words: number | null;
  words_per_minute: number | null;
  /** Pauses of at least pause_threshold_seconds. */
  pause_count: number | null;
  longest_pause_seconds: number | null;
  pause_threshold_seconds: number;
  filler_words: number | null;
  /** Null when the transcript may have dropped them (the provider was not asked to keep them). */
  filler_words_per_minute: number | null;
  /** How the speech and the pauses were found: the detector and its settings; null when not measured by it. */
  measured_by: SpeechDetector | null;
}

export interface DeliveryRange {
  mean: number;
  min: number;
  max: number;
}

export interface SessionDelivery {
  /** Answers whose delivery was measured; the ranges are over these only. */
  measured_count: number;
  unanswered_count: number;
  no_speech_count: number;
  not_measured_count: number;
  words_per_minute: DeliveryRange | null;
  speaking_seconds: DeliveryRange | null;
  pause_count: DeliveryRange | null;
  longest_pause_seconds: DeliveryRange | null;
  filler_words_per_minute: DeliveryRange | null;
  pause_threshold_seconds: number;
}

const FILLERS = new Set(['um', 'umm', 'uh', 'uhh', 'uhm', 'er', 'erm', 'ah', 'hmm', 'hm', 'mm', 'mhm']);

const round = (value: number, places: number) => {
  const f = 10 ** places;
  return Math.round(value * f) / f;
};

export function wordsOf(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu) ?? [];
}

/** Filler words in a transcript ("um", "uh", "erm", ...; never ordinary words such as "like"). */
export function countFillers(text: string): number {
  return wordsOf(text).filter((w) => FILLERS.has(w)).length;
}

function emptyDelivery(
  status: DeliveryStatus,
  threshold: number,
  duration: number | null,
  measuredBy: SpeechDetector | null = null,
): AnswerDelivery {
  return {
    status,
    duration_seconds: duration,
    speaking_seconds: null,
    words: null,
    words_per_minute: null,
    pause_count: null,
    longest_pause_seconds: null,
    pause_threshold_seconds: threshold,
    filler_words: null,
    filler_words_per_minute: null,
    measured_by: measuredBy,
  };
}

/** One answer's delivery; `answer` undefined means nothing was uploaded for the question. */
export function answerDelivery(answer: DeliveryInput | undefined, pauseThresholdSeconds: number): AnswerDelivery {
  if (!answer) return emptyDelivery('unanswered', pauseThresholdSeconds, null);
  const speech = answer.speech ?? null;
  const duration = speech?.duration_seconds ?? answer.duration_seconds ?? null;
  const durationView = duration === null ? null : round(duration, 2);
  const d = speech?.detector;
  // field by field: the view never passes on whatever else a stored subdocument holds
  const measuredBy: SpeechDetector | null = d
    ? {
        name: d.name,
        mode: d.mode,
        high_pass_hz: d.high_pass_hz,
        level_gate_db: d.level_gate_db,
        noise_margin_db: d.noise_margin_db,
        min_speech_seconds: d.min_speech_seconds,
        min_pause_seconds: d.min_pause_seconds,
      }
    : null;
  if (answer.no_speech) return emptyDelivery('no_speech', pauseThresholdSeconds, durationView, measuredBy);
  if (!speech || answer.transcript === null) return emptyDelivery('not_measured', pauseThresholdSeconds, durationView);
  const pauses = speech.pauses.map((p) => Math.max(0, p.end - p.start));
  const long = pauses.filter((p) => p >= pauseThresholdSeconds);
  const shortSum = pauses.filter((p) => p < pauseThresholdSeconds).reduce((s, p) => s + p, 0);
  const speaking = speech.speech_seconds + shortSum;
  const words = answer.suspect_hallucination ? 0 : wordsOf(answer.transcript).length;
  if (speaking <= 0 || words === 0) return emptyDelivery('no_speech', pauseThresholdSeconds, durationView, measuredBy);
  const minutes = speaking / 60;
  const fillers = countFillers(answer.transcript);
  return {
    status: 'measured',
    duration_seconds: durationView,
    speaking_seconds: round(speaking, 2),
    words,
    words_per_minute: round(words / minutes, 1),
    pause_count: long.length,
    longest_pause_seconds: pauses.length ? round(Math.max(...pauses), 2) : null,
    pause_threshold_seconds: pauseThresholdSeconds,
    filler_words: fillers,
    filler_words_per_minute: answer.disfluencies_kept ? round(fillers / minutes, 1) : null,
    measured_by: measuredBy,
  };
}

function range(values: Array<number | null>, places: number): DeliveryRange | null {
  const present = values.filter((v): v is number => v !== null);
  if (present.length === 0) return null;
  return {
    mean: round(present.reduce((s, v) => s + v, 0) / present.length, places),
    min: Math.min(...present),
    max: Math.max(...present),
  };
}

/** The session's delivery: averages and ranges over the measured answers, and what was not measured. */
export function sessionDelivery(answers: AnswerDelivery[], pauseThresholdSeconds: number): SessionDelivery {
  const measured = answers.filter((a) => a.status === 'measured');
  const count = (status: DeliveryStatus) => answers.filter((a) => a.status === status).length;
  return {
    measured_count: measured.length,
    unanswered_count: count('unanswered'),
    no_speech_count: count('no_speech'),
    not_measured_count: count('not_measured'),
    words_per_minute: range(
      measured.map((a) => a.words_per_minute),
      1,
    ),
    speaking_seconds: range(
      measured.map((a) => a.speaking_seconds),
      2,
    ),
    pause_count: range(
      measured.map((a) => a.pause_count),
      1,
    ),
    longest_pause_seconds: range(
      measured.map((a) => a.longest_pause_seconds),
      2,
    ),
    filler_words_per_minute: range(
      measured.map((a) => a.filler_words_per_minute),
      1,
    ),
    pause_threshold_seconds: pauseThresholdSeconds,
  };
}

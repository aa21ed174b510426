import { ApiProperty } from '@nestjs/swagger';

/** An answer's delivery status; listed here so that the OpenAPI document names them in this order. */
export const DELIVERY_STATUSES = ['measured', 'unanswered', 'no_speech', 'not_measured'] as const;

/*
 * How answers were delivered (delivery.ts computes them). Numbers are null whenever there is
 * nothing to measure: an unanswered question or an answer with no speech is never shown as zeros.
 */

/** The voice-activity detector that found an answer's speech and pauses, and its settings. */
export class SpeechDetectorView {
  /** webrtc-vad: WebRTC's voice-activity detector. */
  name: string;
  /** Its aggressiveness, 0 (keeps most) to 3 (keeps least): TRANSCRIPTION_VAD_MODE. */
  mode: number;
  /** Rumble below this frequency (Hz) is filtered out before the detector hears the audio. */
  high_pass_hz: number;
  /** A voiced stretch this many dB below the answer's loudest speech is taken for someone else in the room. */
  level_gate_db: number;
  /** A voiced stretch must stand this many dB above the room's noise floor. */
  noise_margin_db: number;
  /** Shorter bursts of sound on their own are not words (seconds). */
  min_speech_seconds: number;
  /** Shorter silences are gaps between words, not pauses (seconds). */
  min_pause_seconds: number;
}

/** One answer's pace, pauses and filler words. */
export class AnswerDeliveryView {
  /** measured; unanswered (nothing uploaded); no_speech (nothing was heard); not_measured (the audio's speech was not measured). */
  @ApiProperty({ enum: DELIVERY_STATUSES })
  status: (typeof DELIVERY_STATUSES)[number];
  /** The recording's length in seconds. */
  duration_seconds: number | null;
  /** From the first to the last speech, less every pause of at least pause_threshold_seconds. */
  speaking_seconds: number | null;
  words: number | null;
  /** Words per minute of speaking time. */
  words_per_minute: number | null;
  /** Pauses of at least pause_threshold_seconds between the first and the last speech. */
  pause_count: number | null;
  /** The longest silence between the first and the last speech (at least 0.25 s), in seconds. */
  longest_pause_seconds: number | null;
  /** DELIVERY_PAUSE_MS in seconds. */
  pause_threshold_seconds: number;
  /** "um", "uh", "erm" and the like, as the transcript has them. */
  filler_words: number | null;
  /** Per minute of speaking time; null when the provider was not asked to keep filler words. */
  filler_words_per_minute: number | null;
  /** How the speech and the pauses were found; null when the answer was not measured by the detector (or was measured before it existed). */
  measured_by: SpeechDetectorView | null;
}

export class DeliveryRangeView {
  mean: number;
  min: number;
  max: number;
}

/** The session's delivery: averages and ranges over the measured answers only. */
export class SessionDeliveryView {
  measured_count: number;
  unanswered_count: number;
  no_speech_count: number;
  not_measured_count: number;
  words_per_minute: DeliveryRangeView | null;
  speaking_seconds: DeliveryRangeView | null;
  pause_count: DeliveryRangeView | null;
  longest_pause_seconds: DeliveryRangeView | null;
  filler_words_per_minute: DeliveryRangeView | null;
  pause_threshold_seconds: number;
}

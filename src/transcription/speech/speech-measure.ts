/** A stretch of silence (or of speech), in seconds from the recording's start. */
export interface Pause {
  start: number;
  end: number;
}

/** How the speech was found: the detector and the settings it ran with. */
export interface SpeechDetector {
  /** webrtc-vad: WebRTC's voice-activity detector (voice-activity.ts). */
  name: string;
  /** Its aggressiveness, 0 (keeps most) to 3 (keeps least). */
  mode: number;
  /** Rumble below this is filtered out before the detector hears the audio. */
  high_pass_hz: number;
  /** A voiced frame this far below the recording's loudest speech is someone else in the room. */
  level_gate_db: number;
  /** A voiced frame must stand this far above the room's noise floor. */
  noise_margin_db: number;
  /** Shorter bursts of speech on their own are not words. */
  min_speech_seconds: number;
  /** Shorter silences are gaps between words: part of speaking, not pauses. */
  min_pause_seconds: number;
}

/** How much speech a recording holds, as stored on the answer (seconds, to 0.01). */
export interface SpeechMeasure {
  duration_seconds: number;
  /** The stretches of speech added up: from the first to the last speech, minus the pauses. */
  speech_seconds: number;
  /** Every silence of at least the detector's min_pause_seconds between the first and the last speech. */
  pauses: Pause[];
  /** Absent on answers measured before the detector existed. */
  detector?: SpeechDetector;
}

/** The shortest silence that counts as a pause (the gaps between words are shorter). */
export const MIN_PAUSE_SECONDS = 0.25;

/**
 * What Whisper-family models are known to write for a recording without words (subtitle credits
 * and sign-offs from their training data), lower-cased, without punctuation.
 */
const SILENCE_HALLUCINATIONS = [
  'thank you',
  'thank you very much',
  'thank you so much',
  'thanks',
  'thanks for watching',
  'thank you for watching',
  'thank you for watching and see you next time',
  'thank you for listening',
  'please subscribe',
  'like and subscribe',
  'subscribe to my channel',
  'bye',
  'bye bye',
  'goodbye',
  'you',
  'oh',
  'so',
  'hmm',
  'music',
  'applause',
  'silence',
  'subtitles by the amaraorg community',
  'subtitles by steamteam',
  'transcription by castingwords',
  'ill see you next time',
  'see you next time',
  'see you in the next video',
];
const KNOWN = new Set(SILENCE_HALLUCINATIONS);

/** The transcript as it is compared with the known hallucinations. */
const normalised = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, '')
    .replace(/\s+/g, ' ')
    .trim();

/** Little speech, for a hallucination check: at most this many seconds. */
export const LITTLE_SPEECH_SECONDS = 2;

/**
 * Whether a transcript of a recording with little speech is one of the known silence hallucinations
 * (alone or repeated, sentence by sentence): not the candidate's words.
 */
export function looksHallucinated(text: string, speech: SpeechMeasure): boolean {
  if (speech.speech_seconds > LITTLE_SPEECH_SECONDS) return false;
  const sentences = text
    .split(/[.!?。]+(?=\s|$)|\n+/)
    .map(normalised)
    .filter(Boolean);
  return sentences.length > 0 && sentences.every((s) => KNOWN.has(s));
}

/** A stretch of silence, in seconds from the recording's start. */
export interface Pause {
  start: number;
  end: number;
}

/** How much speech a recording holds, as stored on the answer (seconds, to 0.01). */
export interface SpeechMeasure {
  duration_seconds: number;
  /** From the first to the last speech, minus the pauses. */
  speech_seconds: number;
  /** Every silence of at least the detector's minimum between the first and the last speech. */
  pauses: Pause[];
}

/** The shortest silence that counts as a pause; ffmpeg's silencedetect `d`. */
export const MIN_PAUSE_SECONDS = 0.25;

const centi = (t: number) => Math.round(t * 100) / 100;

/**
 * The speech in a recording of `durationSeconds` from the silences ffmpeg's silencedetect found in it
 * (in order; the last one may still be open at the end). Leading and trailing silence is not a pause.
 */
export function measureSpeech(silences: Pause[], durationSeconds: number): SpeechMeasure {
  const duration = Math.max(0, durationSeconds);
  // the stretches of sound between the silences
  const sounds: Pause[] = [];
  let cursor = 0;
  for (const silence of silences) {
    const start = Math.max(cursor, Math.min(silence.start, duration));
    if (start - cursor > 0.001) sounds.push({ start: cursor, end: start });
    cursor = Math.max(cursor, Math.min(silence.end, duration));
  }
  if (duration - cursor > 0.001) sounds.push({ start: cursor, end: duration });
  if (sounds.length === 0) return { duration_seconds: centi(duration), speech_seconds: 0, pauses: [] };
  const pauses = sounds.slice(1).map((sound, i) => ({ start: centi(sounds[i].end), end: centi(sound.start) }));
  const spoken = sounds.reduce((sum, s) => sum + (s.end - s.start), 0);
  return { duration_seconds: centi(duration), speech_seconds: centi(spoken), pauses };
}

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

import type { Pause } from '../speech/speech-measure.js';

export interface AheadCutLimits {
  /** A piece is cut once this many seconds after the last cut are heard (TRANSCRIPTION_AHEAD_SECONDS). */
  aheadSeconds: number;
  /** The longest piece (TRANSCRIPTION_PIECE_SECONDS): cut there, pause or not. */
  maxSeconds: number;
}

/** A cut stays this far behind the last decoded audio: the words after it may still be arriving. */
export const END_MARGIN_SECONDS = 0.5;

const ms = (t: number) => Math.round(t * 1000) / 1000;

/**
 * Where to cut the part of a growing recording heard so far, from `from` (the end of what is
 * transcribed) to `heardTo` (the end of the audio decoded): once `aheadSeconds` are heard after the
 * previous cut, in the middle of the latest pause from half of `aheadSeconds` to twice it after that
 * cut (so that a backlog becomes pieces of about that length), else of the latest pause up to
 * `maxSeconds` after it; never within END_MARGIN_SECONDS of `heardTo`. A speaker who does not pause
 * for `maxSeconds` is cut at 90 % of it (as large recordings are, planPieces). Silences are in
 * seconds from the recording's start.
 */
export function aheadCuts(from: number, heardTo: number, silences: Pause[], limits: AheadCutLimits): number[] {
  const cuts: number[] = [];
  let start = from;
  const longest = Math.max(limits.aheadSeconds, limits.maxSeconds);
  while (heardTo - start >= limits.aheadSeconds) {
    const earliest = start + limits.aheadSeconds / 2;
    const heard = heardTo - END_MARGIN_SECONDS;
    let cut =
      latestPause(silences, earliest, Math.min(heard, start + 2 * limits.aheadSeconds)) ??
      latestPause(silences, earliest, Math.min(heard, start + longest));
    if (cut === null) {
      if (heardTo - start < longest) break; // wait for a pause
      cut = start + longest * 0.9;
    }
    cuts.push(ms(cut));
    start = ms(cut);
  }
  return cuts;
}

function latestPause(silences: Pause[], earliest: number, latest: number): number | null {
  let cut: number | null = null;
  for (const silence of silences) {
    const middle = (silence.start + silence.end) / 2;
    if (middle >= earliest && middle <= latest && (cut === null || middle > cut)) cut = middle;
  }
  return cut;
}

/** Seconds of speech between `start` and `end`: the stretch minus the silences within it. */
export function speechWithin(start: number, end: number, silences: Pause[]): number {
  let silent = 0;
  for (const s of silences) silent += Math.max(0, Math.min(end, s.end) - Math.max(start, s.start));
  return Math.max(0, end - start - silent);
}

import { fileTypeFromBuffer } from 'file-type';
import { hasAudioStructure, id3TagsEnd } from './audio-structure.js';

export interface AudioFormat {
  /** Extension the transcription provider recognises the container by. */
  extension: 'webm' | 'ogg' | 'mp3' | 'm4a' | 'mp4' | 'wav' | 'flac';
  contentType: string;
}

/** Containers browsers record into and the transcription endpoint accepts, by detected extension. */
const ACCEPTED: Record<string, AudioFormat> = {
  webm: { extension: 'webm', contentType: 'audio/webm' },
  ogg: { extension: 'ogg', contentType: 'audio/ogg' },
  oga: { extension: 'ogg', contentType: 'audio/ogg' },
  opus: { extension: 'ogg', contentType: 'audio/ogg' },
  mp3: { extension: 'mp3', contentType: 'audio/mpeg' },
  m4a: { extension: 'm4a', contentType: 'audio/mp4' },
  mp4: { extension: 'mp4', contentType: 'audio/mp4' },
  wav: { extension: 'wav', contentType: 'audio/wav' },
  flac: { extension: 'flac', contentType: 'audio/flac' },
};

/** Bytes from the start of the file that are enough to recognise every accepted container. */
export const AUDIO_SNIFF_BYTES = 64 * 1024;
/**
 * An mp3's ID3 tags (cover art) come before its first frame; the head held to recognise it may grow
 * to this, so that a tagged file is judged by its audio, not refused for its picture.
 */
export const MAX_TAGGED_HEAD_BYTES = 4 * 1024 * 1024;

/**
 * How many bytes from the start are needed to judge `head`: AUDIO_SNIFF_BYTES, or as many beyond
 * the ID3 tags it begins with (as far as their headers are within `head`; ask again with more).
 * Infinity when the tags alone are over MAX_TAGGED_HEAD_BYTES.
 */
export function audioSniffBytes(head: Uint8Array): number {
  const tagsEnd = id3TagsEnd(head);
  if (tagsEnd === 0) return AUDIO_SNIFF_BYTES;
  return tagsEnd > MAX_TAGGED_HEAD_BYTES ? Infinity : tagsEnd + AUDIO_SNIFF_BYTES;
}

/** What a client is told when the tags alone are too large to look past. */
export const TAGS_TOO_LARGE =
  `The mp3's ID3 tags (cover art) are over ${MAX_TAGGED_HEAD_BYTES / 1024 / 1024} MB; ` +
  'remove the picture from the file, or upload the recording without tags.';

export const ACCEPTED_AUDIO_DESCRIPTION = 'webm, ogg/opus, mp3, mp4/m4a, wav or flac';

/**
 * Recognises the audio container from the first bytes of the file, never from what the client
 * claims, and checks that they parse as that container (audio-structure.ts). Returns null for
 * anything that is not one of the accepted audio containers.
 */
export async function detectAudioFormat(head: Uint8Array): Promise<AudioFormat | null> {
  const detected = await fileTypeFromBuffer(head);
  const format = detected ? (ACCEPTED[detected.ext] ?? null) : null;
  // the signature is only a claim: the container's first structure must parse too
  return format && hasAudioStructure(format.extension, head) ? format : null;
}

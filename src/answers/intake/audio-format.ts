import { fileTypeFromBuffer } from 'file-type';
import { hasAudioStructure } from './audio-structure.js';

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

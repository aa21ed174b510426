import { transcriptionCapabilities } from '../../common/model-capabilities.js';

/**
 * Transcription models tidy speech up: they drop "um" and "uh" unless the prompt shows them kept
 * (OpenAI's speech-to-text guide: a prompt written with filler words keeps them). Delivery counts
 * filler words only in transcripts made with this prompt (the answer's `disfluencies_kept`).
 */
export const DISFLUENCY_PROMPT = 'Umm, let me think, uh... so, hmm, I would say, um, that it, er, depends.';

/** The prompt goes to every model that takes one (every one but the diarizing model). */
export function asksToKeepDisfluencies(model: string): boolean {
  return transcriptionCapabilities(model, 'auto').prompt;
}

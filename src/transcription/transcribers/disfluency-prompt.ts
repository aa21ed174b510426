/**
 * Transcription models tidy speech up: they drop "um" and "uh" unless the prompt shows them kept
 * (OpenAI's speech-to-text guide: a prompt written with filler words keeps them). Delivery counts
 * filler words only in transcripts made with this prompt (the answer's `disfluencies_kept`).
 */
export const DISFLUENCY_PROMPT = 'Umm, let me think, uh... so, hmm, I would say, um, that it, er, depends.';

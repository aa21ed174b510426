import { Module } from '@nestjs/common';
import { AudioStorageModule } from '../audio/audio-storage.module.js';
import { WebhookEventsModule } from '../webhooks/webhooks.module.js';
import { QueueModule } from './queue/queue.module.js';
import { AnswerTranscripts } from './answer-transcripts.js';
import { SpeechMeter } from './speech/speech-meter.js';
import { WebRtcVadEngine } from './speech/webrtc-vad.js';
import { AttemptOutcomes } from './attempt-outcomes.js';
import { TranscribeAnswerJob } from './transcribe-answer.job.js';
import { AudioTools } from './recording/audio-tools.js';
import { LargeRecordingTranscriber } from './transcribers/large-recording.transcriber.js';
import { TranscriptionProvider } from './transcribers/transcription-provider.js';
import { WholeRecordingTranscriber } from './transcribers/whole-recording.transcriber.js';
import { TranscriptionWorker } from './transcription.worker.js';

/** Background transcription: on worker (and all) instances. */
@Module({
  imports: [WebhookEventsModule, QueueModule, AudioStorageModule],
  providers: [
    AudioTools,
    SpeechMeter,
    WebRtcVadEngine,
    TranscriptionProvider,
    WholeRecordingTranscriber,
    LargeRecordingTranscriber,
    AnswerTranscripts,
    AttemptOutcomes,
    TranscribeAnswerJob,
    TranscriptionWorker,
  ],
  exports: [TranscriptionWorker, TranscribeAnswerJob],
})
export class TranscriptionModule {}

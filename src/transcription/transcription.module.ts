import { Module } from '@nestjs/common';
import { AudioStorageModule } from '../audio/audio-storage.module.js';
import { InterviewRecordModule } from '../interview-record/interview-record.module.js';
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
import { AheadHandover } from './ahead/ahead-handover.js';
import { AheadWorker } from './ahead/ahead.worker.js';
import { GrowingUploadTranscriber } from './ahead/growing-upload.transcriber.js';
import { TranscribeAheadJob } from './ahead/transcribe-ahead.job.js';
import { PieceSender } from './transcribers/piece-sender.js';

/** Background transcription: on worker (and all) instances. */
@Module({
  imports: [WebhookEventsModule, QueueModule, AudioStorageModule, InterviewRecordModule],
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
    PieceSender,
    GrowingUploadTranscriber,
    TranscribeAheadJob,
    AheadHandover,
    AheadWorker,
  ],
  exports: [TranscriptionWorker, TranscribeAnswerJob],
})
export class TranscriptionModule {}

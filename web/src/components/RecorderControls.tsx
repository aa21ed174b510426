import { useEffect, useState } from 'react';
import type { useRecorder } from '../interview/use-recorder';
import { ErrorNotice } from './ErrorNotice';

type Recorder = ReturnType<typeof useRecorder>;

/** Record, stop, record again, and listen back to what was recorded. */
export function RecorderControls({ recorder }: { recorder: Recorder }) {
  const { phase, recording, seconds, error, notice, start, stop } = recorder;
  const [playbackUrl, setPlaybackUrl] = useState<string | null>(null);

  useEffect(() => {
    if (!recording) return;
    const url = URL.createObjectURL(recording);
    setPlaybackUrl(url);
    return () => URL.revokeObjectURL(url);
  }, [recording]);

  return (
    <div className="recorder">
      <div className="recorder__buttons">
        {phase === 'recording' ? (
          <button type="button" className="button button--stop" onClick={() => void stop()}>
            Stop recording
          </button>
        ) : (
          // aria-disabled, not disabled: a disabled button drops keyboard focus while the microphone starts
          <button
            type="button"
            className="button"
            aria-disabled={phase === 'starting'}
            onClick={() => phase !== 'starting' && void start()}
          >
            {recording ? 'Record again' : 'Record answer'}
          </button>
        )}
      </div>
      <p className="recorder__status" aria-live="polite">
        {phase === 'recording' && `Recording… ${seconds} s`}
        {phase === 'starting' && 'Starting the microphone…'}
        {phase === 'recorded' && 'Answer recorded. Listen back, record again, or go on.'}
        {phase === 'idle' && 'Press Record answer and speak your answer.'}
      </p>
      {phase === 'recorded' && playbackUrl && <audio controls src={playbackUrl} aria-label="Your recorded answer" />}
      <ErrorNotice message={error} />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
    </div>
  );
}

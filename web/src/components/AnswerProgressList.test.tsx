import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { question } from '../test/api-fixtures';
import { AnswerProgressList } from './AnswerProgressList';

const questions = ['q1', 'q2', 'q3', 'q4', 'q5'].map((id) => question({ question_id: id, text: `Question ${id}?` }));

describe('AnswerProgressList', () => {
  it('shows queued, transcribing, done and failed, with a retry button for the failed one only', async () => {
    const onRetry = vi.fn();
    render(
      <AnswerProgressList
        questions={questions}
        onRetry={onRetry}
        progress={{
          q1: { upload: { phase: 'uploaded' }, transcription: { question_id: 'q1', status: 'queued', attempts: 0 } },
          q2: {
            upload: { phase: 'uploaded' },
            transcription: { question_id: 'q2', status: 'processing', attempts: 1 },
          },
          q3: { transcription: { question_id: 'q3', status: 'completed', transcript: 'hi', attempts: 1 } },
          q4: {
            transcription: {
              question_id: 'q4',
              status: 'failed',
              error: 'The provider refused the audio.',
              attempts: 5,
            },
          },
          q5: { upload: { phase: 'waiting', attempt: 1, retryInMs: 2000 } },
        }}
      />,
    );
    expect(['q1', 'q2', 'q3', 'q4', 'q5'].map((id) => screen.getByTestId(`status-${id}`).textContent)).toEqual([
      'Queued',
      'Transcribing',
      'Done',
      'Failed',
      'Queued',
    ]);
    expect(screen.getByText('Transcription failed: The provider refused the audio.')).toBeTruthy();
    expect(screen.getByText('Connection problem; trying again in 2 s.')).toBeTruthy();
    const retries = screen.getAllByRole('button');
    expect(retries.map((b) => b.textContent)).toEqual(['Retry question 4']);
    await userEvent.click(retries[0]);
    expect(onRetry).toHaveBeenCalledWith('q4', 'transcription');
  });

  it('offers to send a failed upload again', async () => {
    const onRetry = vi.fn();
    render(
      <AnswerProgressList
        questions={questions.slice(0, 1)}
        onRetry={onRetry}
        progress={{
          q1: { upload: { phase: 'failed', message: 'Upload failed: The recording is too large to upload.' } },
        }}
      />,
    );
    expect(screen.getByText('Upload failed: The recording is too large to upload.')).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Retry question 1' }));
    expect(onRetry).toHaveBeenCalledWith('q1', 'upload');
  });
});

import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { ApiClient } from '../api/api-client';
import { ApiError } from '../api/api-error';
import { QUESTION_SETS } from '../question-sets';
import { QuestionSetPicker } from './QuestionSetPicker';

describe('QuestionSetPicker', () => {
  it('starts the chosen set with its questions and model answers', async () => {
    const session = { session_id: 's1', questions: [], status: 'in_progress', created_at: '' };
    const createSession = vi.fn(async () => session);
    const onStarted = vi.fn();
    render(<QuestionSetPicker api={{ createSession } as unknown as ApiClient} onStarted={onStarted} />);
    await userEvent.click(screen.getByRole('radio', { name: /Working in a team/ }));
    await userEvent.click(screen.getByRole('button', { name: 'Start interview' }));
    const teamwork = QUESTION_SETS.find((s) => s.id === 'teamwork')!;
    expect(createSession).toHaveBeenCalledWith('Working in a team', teamwork.questions);
    expect(onStarted).toHaveBeenCalledWith(session, 'Working in a team');
  });

  it('shows why the interview could not start', async () => {
    const createSession = vi.fn(async () => {
      throw new ApiError('The database is temporarily unavailable; retry in a few seconds.', 503);
    });
    render(<QuestionSetPicker api={{ createSession } as unknown as ApiClient} onStarted={vi.fn()} />);
    await userEvent.click(screen.getByRole('button', { name: 'Start interview' }));
    expect((await screen.findByRole('alert')).textContent).toBe(
      'The database is temporarily unavailable; retry in a few seconds.',
    );
    expect(screen.getByRole('button', { name: 'Start interview' })).toHaveProperty('disabled', false);
  });
});

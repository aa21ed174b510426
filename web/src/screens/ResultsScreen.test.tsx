import { render, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ResultsScreen } from './ResultsScreen';

describe('ResultsScreen', () => {
  it('shows the final score and, per question, score, feedback, transcript and model answer', () => {
    render(
      <ResultsScreen
        onStartAnother={vi.fn()}
        questions={[
          { question_id: 'q1', text: 'What is 401?', model_answer: 'Not authenticated.' },
          { question_id: 'q2', text: 'What is 403?', model_answer: 'Not allowed.' },
        ]}
        result={{
          status: 'success',
          final_score: 42.5,
          scored_count: 1,
          unanswered: ['q2'],
          analyzed_at: '2026-01-01T00:00:00Z',
          answers: [
            {
              question_id: 'q1',
              score: 85,
              feedback: ['Mention credentials.'],
              transcript: 'It means unauthenticated.',
              model_answer: 'Not authenticated.',
              scoring_method: 'llm',
            },
            {
              question_id: 'q2',
              score: 0,
              feedback: ['No answer was recorded for this question.'],
              model_answer: 'Not allowed.',
              unanswered: true,
              scoring_method: 'none',
            },
          ],
        }}
      />,
    );
    const heading = screen.getByRole('heading', { name: 'Your results' });
    expect(document.activeElement).toBe(heading);
    expect(screen.getByTestId('final-score').textContent).toBe('43');
    const [first, second] = screen.getAllByRole('listitem').filter((li) => li.className === 'result');
    expect(within(first).getByText('What is 401?', { exact: false })).toBeTruthy();
    expect(first.textContent).toContain('Score 85 / 100');
    expect(first.textContent).toContain('Mention credentials.');
    expect(first.textContent).toContain('It means unauthenticated.');
    expect(first.textContent).toContain('Not authenticated.');
    expect(second.textContent).toContain('Score 0 / 100');
    expect(second.textContent).toContain('No answer was recorded.');
  });

  it('says no answer was heard, instead of a transcript, for a recording without speech', () => {
    render(
      <ResultsScreen
        onStartAnother={vi.fn()}
        questions={[
          { question_id: 'q1', text: 'What is 401?', model_answer: '' },
          { question_id: 'q2', text: 'What is 403?', model_answer: '' },
        ]}
        result={{
          status: 'success',
          final_score: 0,
          scored_count: 2,
          unanswered: [],
          analyzed_at: '2026-01-01T00:00:00Z',
          answers: [
            {
              question_id: 'q1',
              score: 0,
              feedback: ['No answer was heard.'],
              transcript: '',
              no_speech: true,
              scoring_method: 'none',
            },
            {
              question_id: 'q2',
              score: 0,
              feedback: ['No answer was heard: the recording held almost no speech.'],
              transcript: 'Thank you for watching.',
              suspect_hallucination: true,
              scoring_method: 'none',
            },
          ],
        }}
      />,
    );
    const [first, second] = screen.getAllByRole('listitem').filter((li) => li.className === 'result');
    expect(first.querySelector('.result__transcript')!.textContent).toBe('No answer was heard.');
    expect(second.querySelector('.result__transcript')!.textContent).toBe('No answer was heard.');
    expect(second.textContent).not.toContain('Thank you for watching');
  });
});

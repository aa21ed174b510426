import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../api/api-client';
import type { CreatedSession } from '../api/types';
import { question } from '../test/api-fixtures';
import { installFakeMicrophone, jsonResponse } from '../test/fake-media';
import { InterviewFlow } from './InterviewFlow';

const session: CreatedSession = {
  session_id: 's1',
  status: 'in_progress',
  language: null,
  created_at: '',
  questions: [1, 2, 3].map((n) =>
    question({ question_id: `q${n}`, text: `Question text ${n}?`, model_answer: `Model ${n}.` }),
  ),
};

/** An event stream that sends a snapshot and then stays open, as the server's does. */
function openStream() {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('event: snapshot\ndata: {"answers":[]}\n\n'));
    },
  });
  return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
}

let uploads: { url: string; body: FormData }[];

beforeEach(() => {
  installFakeMicrophone();
  uploads = [];
});
afterEach(() => vi.unstubAllGlobals());

async function recordAndPress(button: string) {
  await userEvent.click(screen.getByRole('button', { name: /Record answer|Record again/ }));
  await screen.findByRole('button', { name: 'Stop recording' });
  await userEvent.click(screen.getByRole('button', { name: button }));
}

describe('InterviewFlow', () => {
  it('shows the next question at once while the upload is still running, focus on its heading', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn((url: string, init: RequestInit) => {
        if (url.endsWith('/events')) return Promise.resolve(openStream());
        if (url.includes('/upload-answer/')) {
          uploads.push({ url, body: init.body as FormData });
          return new Promise(() => undefined); // a slow network: this upload never finishes
        }
        return Promise.reject(new Error(`unexpected ${url}`));
      }),
    );
    render(<InterviewFlow api={new ApiClient('T')} session={session} title="Set" onStartAnother={vi.fn()} />);

    expect(document.activeElement).toBe(screen.getByRole('heading', { name: 'Question text 1?' }));
    await recordAndPress('Next question');

    const second = await screen.findByRole('heading', { name: 'Question text 2?' });
    expect(document.activeElement).toBe(second);
    expect(screen.getByText('Question 2 of 3')).toBeTruthy();
    expect(screen.getByTestId('status-q1').textContent).toBe('Uploading');
    // no IndexedDB here: once the stream of the recording (tus, to a server jsdom cannot reach) fails,
    // the recording goes the simple way
    await waitFor(() => expect(uploads.map((u) => u.url)).toEqual(['/api/upload-answer/s1/q1']));
    const audio = uploads[0].body.get('audio') as File;
    expect(audio.name).toBe('answer.webm');
    expect(audio.size).toBeGreaterThan(0);
  });

  it('can be answered with the keyboard alone', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) => {
        if (url.endsWith('/events')) return openStream();
        if (url.includes('/upload-answer/')) return jsonResponse(202, { status: 'processing' });
        throw new Error(`unexpected ${url}`);
      }),
    );
    render(<InterviewFlow api={new ApiClient('T')} session={session} title="Set" onStartAnother={vi.fn()} />);
    await userEvent.tab();
    expect(document.activeElement?.textContent).toBe('Record answer');
    await userEvent.keyboard('{Enter}');
    await screen.findByRole('button', { name: 'Stop recording' });
    await userEvent.tab();
    expect(document.activeElement?.textContent).toBe('Next question');
    await userEvent.keyboard('{Enter}');
    expect(document.activeElement).toBe(await screen.findByRole('heading', { name: 'Question text 2?' }));
    await waitFor(() => expect(screen.getByTestId('status-q1').textContent).toBe('Queued'));
  });

  it('does not ask for scores while an answer could not be uploaded, and offers to retry it', async () => {
    const fetch = vi.fn(async (url: string) => {
      if (url.endsWith('/events')) return openStream();
      if (url.endsWith('/q3')) {
        return jsonResponse(413, {
          statusCode: 413,
          error: 'Payload Too Large',
          message: 'The recording is too long.',
        });
      }
      if (url.includes('/upload-answer/')) return jsonResponse(202, { status: 'processing' });
      throw new Error(`unexpected ${url}`);
    });
    vi.stubGlobal('fetch', fetch);
    render(<InterviewFlow api={new ApiClient('T')} session={session} title="Set" onStartAnother={vi.fn()} />);
    await userEvent.click(screen.getByRole('button', { name: 'Next question' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Next question' }));
    await recordAndPress('Finish interview');

    expect((await screen.findByRole('alert')).textContent).toBe(
      'One answer could not be uploaded. Retry it below, then finish again.',
    );
    expect(screen.getByText('Upload failed: The recording is too long.')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Finish again' })).toHaveProperty('disabled', true);
    expect(screen.getByRole('button', { name: 'Retry question 3' })).toBeTruthy();
    expect(fetch.mock.calls.map(([url]) => url)).not.toContainEqual(expect.stringContaining('/api/analyze/'));
  });

  it('finishes: waits for the last transcription showing how many remain, then shows the results', async () => {
    let analyzeCalls = 0;
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) => {
        if (url.endsWith('/events')) return openStream();
        if (url.includes('/upload-answer/'))
          return jsonResponse(202, { status: 'processing', transcription_status: 'queued' });
        if (url.startsWith('/api/analyze/')) {
          analyzeCalls++;
          if (analyzeCalls === 1) {
            return jsonResponse(
              202,
              { status: 'transcription_pending', message: '', pending_count: 0, processing_count: 1, retry_after: 1 },
              { 'Retry-After': '1' },
            );
          }
          return jsonResponse(200, {
            status: 'success',
            final_score: 60,
            scored_count: 3,
            unanswered: [],
            analyzed_at: '',
            answers: session.questions.map((q) => ({
              question_id: q.question_id,
              score: 60,
              feedback: [`Feedback ${q.question_id}.`],
              transcript: `Said ${q.question_id}.`,
              model_answer: q.model_answer,
              scoring_method: 'llm',
            })),
          });
        }
        throw new Error(`unexpected ${url}`);
      }),
    );
    render(<InterviewFlow api={new ApiClient('T')} session={session} title="Set" onStartAnother={vi.fn()} />);
    await recordAndPress('Next question');
    await recordAndPress('Next question');
    await recordAndPress('Finish interview');

    expect(await screen.findByRole('heading', { name: 'Analyzing...' })).toBeTruthy();
    expect(await screen.findByText('Waiting for 1 answer to be transcribed.')).toBeTruthy();
    expect(await screen.findByRole('heading', { name: 'Your results' }, { timeout: 3000 })).toBeTruthy();
    expect(screen.getByTestId('final-score').textContent).toBe('60');
    expect(screen.getByText('Said q2.')).toBeTruthy();
    await waitFor(() => expect(analyzeCalls).toBe(2));
  });
});

import { describe, expect, it, vi } from 'vitest';
import type { ApiClient } from './api-client';
import { EventStreamParser, followSessionEvents, type ServerSentEvent } from './session-events';

describe('EventStreamParser', () => {
  it('parses events split anywhere across chunks and drops heartbeats', () => {
    const parser = new EventStreamParser();
    expect(parser.push('retry: 3000\n\nevent: snap')).toEqual([]);
    expect(parser.push('shot\ndata: {"answers":[]}\n\n: ping\n\nevent: answer\ndata: {"question_id":"q1",')).toEqual([
      { event: 'snapshot', data: { answers: [] } },
    ]);
    expect(parser.push('"status":"completed"}\r\n\r\n')).toEqual([
      { event: 'answer', data: { question_id: 'q1', status: 'completed' } },
    ]);
  });
});

describe('followSessionEvents', () => {
  it('polls the status while the server refuses another stream (429), asking again only after Retry-After', async () => {
    vi.useFakeTimers();
    try {
      const opened: number[] = [];
      const snapshot = { session_id: 's1', summary: {}, answers: [] };
      const api = {
        openEventStream: vi.fn(async () => {
          opened.push(Date.now());
          return new Response(JSON.stringify({ status: 429 }), { status: 429, headers: { 'Retry-After': '7' } });
        }),
        sessionStatus: vi.fn(async () => snapshot),
      } as unknown as ApiClient;
      const events: ServerSentEvent[] = [];
      const stop = new AbortController();
      const following = followSessionEvents(api, 's1', (e) => events.push(e), stop.signal);
      await vi.advanceTimersByTimeAsync(6_900);
      expect(opened).toHaveLength(1);
      expect(events).toEqual([{ event: 'snapshot', data: snapshot }]);
      await vi.advanceTimersByTimeAsync(200);
      expect(opened).toHaveLength(2);
      expect(opened[1] - opened[0]).toBeGreaterThanOrEqual(7_000);
      stop.abort();
      await vi.advanceTimersByTimeAsync(7_000);
      await following;
    } finally {
      vi.useRealTimers();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { EventStreamParser } from './session-events';

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

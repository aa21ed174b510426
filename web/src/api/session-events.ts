import type { ApiClient } from './api-client';

export interface ServerSentEvent {
  event: string;
  data: unknown;
}

/**
 * Splits a text/event-stream into events. Feed it chunks as they arrive; it returns the complete
 * events and keeps the unfinished tail for the next chunk. Comments (heartbeats) are dropped.
 */
export class EventStreamParser {
  private buffer = '';

  push(chunk: string): ServerSentEvent[] {
    this.buffer += chunk;
    const events: ServerSentEvent[] = [];
    for (;;) {
      const end = /\r?\n\r?\n/.exec(this.buffer);
      if (!end) return events;
      const block = this.buffer.slice(0, end.index);
      this.buffer = this.buffer.slice(end.index + end[0].length);
      const event = parseBlock(block);
      if (event) events.push(event);
    }
  }
}

function parseBlock(block: string): ServerSentEvent | null {
  let name = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') name = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  try {
    return { event: name, data: JSON.parse(data.join('\n')) };
  } catch {
    return { event: name, data: data.join('\n') };
  }
}

const RECONNECT_MS = 2_000;

/**
 * Follows a session's live status stream until `signal` aborts, reconnecting after a dropped
 * connection. While the stream cannot be opened it falls back to polling the status endpoint, so
 * the indicators keep moving either way.
 */
export async function followSessionEvents(
  api: ApiClient,
  sessionId: string,
  onEvent: (event: ServerSentEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    let waitMs = RECONNECT_MS;
    try {
      const res = await api.openEventStream(sessionId, signal);
      if (res.ok && res.body) {
        const parser = new EventStreamParser();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const event of parser.push(value)) onEvent(event);
        }
      } else {
        // signed out, or the session is gone: nothing will change that by asking again
        if (res.status === 401 || res.status === 404) return;
        // too many open streams for this user (other tabs): poll the status until a place frees up
        const retryAfter = Number(res.headers.get('Retry-After'));
        if (res.status === 429 && retryAfter > 0) waitMs = Math.max(RECONNECT_MS, retryAfter * 1000);
        const status = await api.sessionStatus(sessionId);
        onEvent({ event: 'snapshot', data: status });
      }
    } catch {
      if (signal.aborted) return;
      // the connection dropped or the server is restarting: try again shortly
    }
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

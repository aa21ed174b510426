import { checkResponse, checkStreamEvent } from './openapi-check.js';

export interface ServerSentEvent {
  event: string;
  data: any;
}

/** A Server-Sent Events client over fetch, as a browser app with a bearer token would use it. */
export class EventStreamClient {
  readonly events: ServerSentEvent[] = [];
  readonly comments: string[] = [];
  /** Events whose data the OpenAPI document does not describe: waitFor and close throw them. */
  readonly drift: Error[] = [];
  private url = '';
  status = 0;
  contentType = '';
  private readonly abort = new AbortController();
  private done?: Promise<void>;

  static async open(url: string, token?: string): Promise<EventStreamClient> {
    const client = new EventStreamClient();
    client.url = url;
    const res = await fetch(url, {
      headers: token ? { authorization: `Bearer ${token}`, accept: 'text/event-stream' } : {},
      signal: client.abort.signal,
    });
    client.status = res.status;
    client.contentType = res.headers.get('content-type') ?? '';
    if (res.ok && res.body) client.done = client.read(res.body);
    const text = res.ok ? undefined : await res.text();
    await checkResponse('GET', url, { status: res.status, headers: res.headers, text }).catch((error: Error) => {
      client.abort.abort();
      throw error;
    });
    return client;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length) {
            const parsed = JSON.parse(data.join('\n'));
            await checkStreamEvent(this.url, event, parsed).catch((error: Error) => this.drift.push(error));
            this.events.push({ event, data: parsed });
          }
        }
      }
    } catch {
      // closed by us
    }
  }

  named(event: string): any[] {
    return this.events.filter((e) => e.event === event).map((e) => e.data);
  }

  async waitFor(predicate: (events: ServerSentEvent[]) => boolean, timeoutMs = 15_000, what = 'events'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      if (this.drift.length) throw this.drift[0];
      if (Date.now() > deadline)
        throw new Error(`SSE: timed out waiting for ${what}; got ${JSON.stringify(this.events)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    if (this.drift.length) throw this.drift[0];
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
    if (this.drift.length) throw this.drift[0];
  }
}

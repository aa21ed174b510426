/** How the live status stream is described in the OpenAPI document (3.0 cannot type SSE events). */
export const SESSION_EVENTS_DESCRIPTION = [
  'Server-Sent Events (text/event-stream), for the session owner; each event is `event: <name>` and',
  '`data: <JSON>`:',
  '',
  '- `snapshot`: sent first, `#/components/schemas/SnapshotEventView`;',
  '- `answer`: an answer changed status or progress, `#/components/schemas/AnswerStatusView` (with',
  '  the transcript once completed);',
  '- `ready`: nothing is left to transcribe, `#/components/schemas/ReadyEventView`;',
  '- `analyzed`: the session was scored, `#/components/schemas/AnalyzedEventView`;',
  '- `shutdown`: the server is stopping, `{}`; reconnect (the stream says `retry: 3000`).',
  '',
  'Comments (`: ping`) every SSE_HEARTBEAT_MS keep proxies from closing the stream. Browsers',
  'cannot send a bearer header with EventSource: read it with fetch.',
].join('\n');

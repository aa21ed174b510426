import type { IncomingMessage, ServerResponse } from 'node:http';

/** A scripted model: its shutdown date, or 'unknown' for a model the provider does not know. */
export type ModelScript = { shutdown_date?: string | null } | 'unknown';

/**
 * GET /v1/models and /v1/models/{id}: the list is empty; a scripted model answers as scripted,
 * any other is known without a shutdown date. Every read of a model is added to `reads`.
 */
export function answerModels(
  req: IncomingMessage,
  res: ServerResponse,
  models: ReadonlyMap<string, ModelScript>,
  reads: string[],
): void {
  const id = decodeURIComponent(req.url!.slice('/v1/models'.length).replace(/^\//, '').split('?')[0]);
  const send = (status: number, payload: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(payload));
  };
  if (!id) return send(200, { object: 'list', data: [] });
  reads.push(id);
  const scripted = models.get(id);
  if (scripted === 'unknown') {
    return send(404, {
      error: { message: `The model '${id}' does not exist`, type: 'invalid_request_error', code: 'model_not_found' },
    });
  }
  send(200, { id, object: 'model', created: 0, owned_by: 'system', shutdown_date: scripted?.shutdown_date ?? null });
}

import { HttpException } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { isDatabaseUnavailable } from '../../common/api-exception.filter.js';
import { PROBLEM_JSON, problemDetails } from '../../common/problem-details.js';

/** Seconds a client is asked to wait (Retry-After) before it asks again after a 503 or 423. */
export const RETRY_AFTER_SECONDS = 2;

/** A completion that did not finish (every byte stays): the next HEAD or PATCH takes it up. */
export const COMPLETION_PENDING =
  'The upload could not be finished just now; nothing that arrived is lost. Ask with HEAD in a few seconds ' +
  '(it finishes an upload whose bytes are all in) and resume from the offset it gives.';

export const DATABASE_BUSY =
  'The database is temporarily unavailable; nothing acknowledged is lost. Ask with HEAD in a few seconds and resume from the offset it gives.';

/** Driver and document-lock errors after which the same request can succeed a moment later. */
const TRANSIENT_ERRORS = new Set(['DocumentWriteTimeout', 'DocumentLockLost', 'DocumentLockTimeout']);
/** Server errors of the same kind: a statement over its time limit, a server shutting down. */
const TRANSIENT_CODES = new Set([50, 91, 189, 262, 11600, 11602]);

export function isTransientDatabaseError(error: unknown): boolean {
  if (isDatabaseUnavailable(error)) return true;
  if (!(error instanceof Error)) return false;
  if (TRANSIENT_ERRORS.has(error.name)) return true;
  return error.name.startsWith('Mongo') && TRANSIENT_CODES.has((error as { code?: unknown }).code as number);
}

/** What @tus/server sends for whatever is thrown with a `status_code` and a `body`: the body as given. */
export interface TusRefusal {
  status_code: number;
  body: string;
}

/**
 * A refusal of ours: an Error (with a stack, and throwable as an error should be) that carries the
 * two fields @tus/server 2.x reads off a thrown value (server.js onError: error.status_code,
 * error.body), so it sends it as it would a plain `{ status_code, body }`.
 */
export class TusError extends Error implements TusRefusal {
  override name = 'TusError';
  constructor(
    readonly status_code: number,
    readonly body: string,
  ) {
    super(`tus refusal ${status_code}`);
  }
}

/** A refusal as problem details (RFC 9457), the shape every other route answers with. */
export function tusError(status: number, detail: string): TusError {
  return new TusError(status, JSON.stringify(problemDetails(status, detail)));
}

/** Ours, or one of @tus/server's own (plain `{ status_code, body }` objects). */
export function isTusError(error: unknown): error is TusRefusal {
  return typeof error === 'object' && error !== null && typeof (error as TusRefusal).status_code === 'number';
}

/** A Nest HttpException (from the shared checks) as the error @tus/server can send. */
export function fromHttpException(error: unknown): unknown {
  if (!(error instanceof HttpException)) return error;
  const response = error.getResponse();
  const message =
    typeof response === 'object' && response !== null && 'message' in response ? response.message : response;
  return tusError(error.getStatus(), Array.isArray(message) ? message.join('; ') : String(message));
}

/** What each header @tus/server finds invalid must hold, said so that a client can fix it. */
const HEADER_RULES: Record<string, string> = {
  'tus-resumable': 'Tus-Resumable must be 1.0.0',
  'upload-length': "Upload-Length must be the recording's size, a whole number of bytes",
  'upload-offset': 'Upload-Offset must be a whole number of bytes: the offset a HEAD request answers with',
  'content-type': 'Content-Type must be application/offset+octet-stream',
  'upload-metadata': 'Upload-Metadata must be comma-separated "key base64-value" pairs',
  'upload-defer-length':
    'Upload-Defer-Length must be 1 (the length then comes with a later PATCH as Upload-Length), or be left out',
};

/** @tus/server's own refusal texts (@tus/utils ERRORS), by how they begin, and what a client should do. */
const TUS_TEXTS: Record<string, string> = {
  'Upload-Offset header required': 'Send Upload-Offset with every PATCH: the offset a HEAD request answers with.',
  'Content-Type header required': 'Send Content-Type: application/offset+octet-stream with every PATCH.',
  'The file for this url was not found': 'No such upload for this user.',
  'Upload-Offset conflict':
    'Upload-Offset is not where the upload is; ask with HEAD and send the bytes from the offset it answers with.',
  'The file for this url no longer exists': 'This upload expired or was removed; create a new one.',
  "upload's size exceeded": 'These bytes go past the Upload-Length the upload was created with.',
  'Maximum size exceeded': 'The recording is larger than MAX_UPLOAD_BYTES allows; upload a shorter answer.',
  'Upload-Length or Upload-Defer-Length header required':
    "Send one of Upload-Length (the recording's size in bytes) or Upload-Defer-Length: 1 (the length comes with a later PATCH).",
  'Upload-Metadata is invalid':
    'Upload-Metadata must be comma-separated "key base64-value" pairs: session_id and question_id.',
  'Cannot terminate an already completed upload':
    'This upload is complete and can no longer be terminated; withdraw the answer instead.',
  'Request aborted due to lock acquired':
    'Another request took over this upload; ask with HEAD and resume from its offset.',
  'Concatenation extension is not': 'Concatenated (parallel) uploads are not supported; send one upload per recording.',
};

/** The sentence for one of @tus/server's own refusal texts (as it throws them, or writes them), if it is one we know. */
export function tusTextSentence(text: string): string | null {
  const said = text.trim();
  return Object.entries(TUS_TEXTS).find(([start]) => said.startsWith(start))?.[1] ?? null;
}

/**
 * A sentence for a refusal @tus/server wrote as its own text: the missing version (412), headers it
 * found invalid (400, "Invalid a b"), an unknown upload (404). Other texts get the status's meaning.
 */
export function tusRefusalDetail(status: number, text: string): string {
  const said = text.trim();
  if (status === 412) return 'Send Tus-Resumable: 1.0.0 with every tus request; this server speaks tus 1.0.0.';
  const known = tusTextSentence(said);
  if (known) return known;
  const invalid = /^Invalid ((?:[\w-]+ ?)+)$/.exec(said);
  if (status === 400 && invalid) {
    const rules = invalid[1]
      .trim()
      .split(' ')
      .map((name) => HEADER_RULES[name.toLowerCase()] ?? `${name} is not a valid tus 1.0 header value`);
    return `${rules.join('; ')}.`;
  }
  if (status === 404) return 'No such upload for this user.';
  return `The upload request was refused (${status}); see the tus 1.0 protocol for what this status means.`;
}

/**
 * Makes every refusal on `res` problem JSON: @tus/server writes some of its own as plain text (and
 * sets their Content-Length), ours come as problem JSON already. Bodies of 4xx/5xx answers are
 * small and are held until the end, then sent as they are or rewritten.
 */
export function refusalsAsProblems(res: ServerResponse): void {
  let status = 0;
  const held: Buffer[] = [];
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.writeHead = (code: number, ...rest: unknown[]) => {
    // an extension we do not offer (concatenation) was asked for: the client's error
    if (code === 501) {
      code = 400;
      if (typeof rest[0] === 'string') rest[0] = 'Bad Request';
    }
    status = code;
    if (code >= 400) {
      const headers = rest.at(-1);
      if (rest.length > 0 && typeof headers === 'object' && headers !== null) {
        rest[rest.length - 1] = withoutHeaders(headers, ['content-type', 'content-length']);
      }
      res.setHeader('Content-Type', PROBLEM_JSON);
    }
    return writeHead(code, ...rest);
  };
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (status < 400) return write(chunk, ...rest);
    if (chunk !== undefined && chunk !== null) held.push(Buffer.from(chunk as string));
    (rest.find((r) => typeof r === 'function') as (() => void) | undefined)?.();
    return true;
  }) as ServerResponse['write'];
  res.end = ((...args: unknown[]) => {
    if (status < 400) return end(...args);
    const callback = args.find((a) => typeof a === 'function');
    const chunk = args[0];
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') held.push(Buffer.from(chunk as string));
    const text = Buffer.concat(held).toString('utf8');
    return end(
      isProblem(text) ? text : JSON.stringify(problemDetails(status, tusRefusalDetail(status, text))),
      callback,
    );
  }) as ServerResponse['end'];
}

function isProblem(text: string): boolean {
  try {
    const body = JSON.parse(text) as { status?: unknown; detail?: unknown };
    return typeof body.status === 'number' && typeof body.detail === 'string';
  } catch {
    return false;
  }
}

/** Response headers in any of the shapes Node's writeHead takes, without the named ones. */
function withoutHeaders(headers: object, names: string[]): unknown {
  const dropped = (name: unknown) => names.includes(String(name).toLowerCase());
  if (!Array.isArray(headers)) return Object.fromEntries(Object.entries(headers).filter(([name]) => !dropped(name)));
  if (headers.length > 0 && Array.isArray(headers[0])) {
    return (headers as [string, string][]).filter(([name]) => !dropped(name));
  }
  const flat: unknown[] = [];
  for (let i = 0; i < headers.length; i += 2) if (!dropped(headers[i])) flat.push(headers[i], headers[i + 1]);
  return flat;
}

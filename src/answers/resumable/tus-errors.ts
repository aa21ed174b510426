import { HttpException } from '@nestjs/common';
import { problemDetails } from '../../common/problem-details.js';

/** What @tus/server sends for a thrown `{ status_code, body }`: the body as given. */
export interface TusError {
  status_code: number;
  body: string;
}

/** A refusal as problem details (RFC 9457), the shape every other route answers with. */
export function tusError(status: number, detail: string): TusError {
  return {
    status_code: status,
    body: JSON.stringify(problemDetails(status, detail)),
  };
}

export function isTusError(error: unknown): error is TusError {
  return typeof error === 'object' && error !== null && typeof (error as TusError).status_code === 'number';
}

/** A Nest HttpException (from the shared checks) as the error @tus/server can send. */
export function fromHttpException(error: unknown): unknown {
  if (!(error instanceof HttpException)) return error;
  const response = error.getResponse();
  const message =
    typeof response === 'object' && response !== null && 'message' in response
      ? (response as { message: unknown }).message
      : response;
  return tusError(error.getStatus(), Array.isArray(message) ? message.join('; ') : String(message));
}

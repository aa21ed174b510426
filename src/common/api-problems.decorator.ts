import { applyDecorators, type Type } from '@nestjs/common';
import { ApiExtraModels, ApiResponse } from '@nestjs/swagger';
import { ProblemView } from './dto/problem.dto.js';

/** What each error status means on any route, unless the route says more. */
const MEANINGS: Record<number, string> = {
  400: 'A parameter, the query or the body is not valid; `detail` says which and how.',
  401: 'No valid bearer token.',
  403: 'Not allowed here.',
  404: 'No such session (or question) for this user; another user’s session answers the same.',
  409: 'The session is analyzed or being analyzed, or the answer is not in a state that allows this.',
  410: 'The audio is no longer stored; upload the answer again.',
  413: 'The upload is larger than MAX_UPLOAD_BYTES.',
  415: 'The file is not audio in a format the provider reads.',
};

/** Seconds to wait before asking again. */
export const RETRY_AFTER_HEADER = {
  'Retry-After': { description: 'Seconds to wait before asking again.', required: true, schema: { type: 'integer' } },
};

/**
 * Documents error responses of a route as RFC 9457 problems: a status alone takes its usual
 * meaning, `[status, description]` says what it means here, `[status, description, type]` names a
 * problem schema with members of its own. 429 and 423 carry Retry-After. Every route also answers 500 and
 * 503, and the ones with a body 408 and 413 (see openapi.ts).
 */
export function ApiProblems(
  ...responses: (number | [number, string] | [number, string, Type<ProblemView>])[]
): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ProblemView),
    ...responses.map((response) => {
      const [status, description, type] = typeof response === 'number' ? [response] : response;
      return ApiResponse({
        status,
        description: description ?? MEANINGS[status] ?? 'See `detail`.',
        type: type ?? ProblemView,
        ...(status === 429 || status === 423 ? { headers: RETRY_AFTER_HEADER } : {}),
      });
    }),
  );
}

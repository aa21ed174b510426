/**
 * An error, as RFC 9457 problem details (application/problem+json). `type`, `title`, `status`
 * and `detail` are the RFC's; `statusCode`, `error` and `message` repeat status, title and detail
 * as every error carried them before, for the clients that read those.
 */
export class ProblemView {
  /**
   * The problem type: "about:blank" when the HTTP status says it all, otherwise a URI reference
   * relative to the API's address, e.g. "/problems/transcription-failed".
   * @example about:blank
   */
  type: string;
  /** Short and the same for every problem of the type; for about:blank the status's phrase. */
  title: string;
  /** The HTTP status code. */
  status: number;
  /** A sentence saying what went wrong and what to do, fit to show a user. */
  detail: string;
  /** Same as status. */
  statusCode: number;
  /** The HTTP status's phrase, e.g. "Not Found". */
  error: string;
  /** Same as detail. */
  message: string;
}

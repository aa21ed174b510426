/** GET /api/queue/stats: the queue across all sessions and instances (no user data). */
export class QueueStats {
  /** Waiting for a worker, due now. */
  queued: number;
  /** Waiting for their next attempt after a transient failure. */
  retrying: number;
  /** Held by a worker right now (or by one whose lease has yet to lapse). */
  processing: number;
  /** Age of the oldest answer not yet transcribed, in seconds (0 when none waits). */
  oldest_queued_age_s: number;
  measured_at: string;
}

/**
 * Why a delivery failed. `permanent` stops retrying (a 4xx that no retry will fix);
 * `retryAfterMs` is the server's own word on when to come back (HTTP 429).
 */
export class DeliveryFailure extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly retryAfterMs?: number,
    /** The HTTP status the other side answered, when it answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DeliveryFailure';
  }
}

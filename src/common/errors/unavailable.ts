/**
 * Tells an outage from a bug: whether an error means that a dependency (PostgreSQL, the
 * connection pool) is unreachable, overloaded, shutting down or too slow, so that the
 * request deserves `503 SERVICE_UNAVAILABLE` with `Retry-After` rather than a 500.
 *
 * A pure function of the error (and its `cause` / `driverError` chain), so it is unit-tested
 * on its own; the problem filter, the Fastify error handler and the background workers use it.
 */

/** Seconds a client is told to wait before retrying after an outage answer. */
export const UNAVAILABLE_RETRY_AFTER_S = 5;

/** Node.js socket and DNS errors that mean "cannot reach or lost the peer". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of unavailability (PostgreSQL, Appendix A): the whole of class 08 (connection
 * exception) and 53 (insufficient resources: too_many_connections 53300, out of memory,
 * disk full), and the operator-intervention codes for shutdown and cancellation.
 */
const SQLSTATE_CLASSES = ['08', '53'];
const SQLSTATES = new Set([
  '57014', // query_canceled: statement_timeout
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down, recovery)
  '57P05', // idle_session_timeout
  '25P03', // idle_in_transaction_session_timeout
  '55P03', // lock_not_available: lock_timeout
]);

/** Messages of `pg`, `pg-pool` and TypeORM that carry no code. */
const MESSAGES = [
  /^Connection terminated/i, // "…unexpectedly", "…due to connection timeout"
  /^timeout exceeded when trying to connect/i, // pool acquire / connect timeout
  /^Query read timeout/i, // pg's query_timeout
  /^Client has encountered a connection error and is not queryable/i,
  /^Client was closed and is not queryable/i,
  /^Cannot use a pool after calling end on the pool/i,
  /^Connection is not established/i,
  /^Driver not Connected/i,
  /database is unreachable/i, // our own statement guard (see data-source-options.ts)
  /^Redis is unavailable/i,
];

/** The reason an error counts as an outage (a code or a short message), or undefined. */
export function unavailableReason(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  let current: unknown = error;
  // Walk the wrappers: TypeORM's QueryFailedError (driverError), Error.cause, AggregateError.
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current);
    const reason = ownReason(current);
    if (reason) return reason;
    if (current instanceof AggregateError) {
      for (const inner of current.errors) {
        const innerReason = unavailableReason(inner);
        if (innerReason) return innerReason;
      }
    }
    const next: unknown =
      (current as { driverError?: unknown }).driverError ?? (current as { cause?: unknown }).cause;
    current = next;
  }
  return undefined;
}

export function isUnavailable(error: unknown): boolean {
  return unavailableReason(error) !== undefined;
}

function ownReason(error: object): string | undefined {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return code;
    if (/^[0-9A-Z]{5}$/.test(code)) {
      if (SQLSTATES.has(code) || SQLSTATE_CLASSES.includes(code.slice(0, 2))) return code;
    }
  }
  const message = (error as { message?: unknown }).message;
  if (typeof message === 'string' && MESSAGES.some((pattern) => pattern.test(message))) {
    return message.slice(0, 80);
  }
  return undefined;
}

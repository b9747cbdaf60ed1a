import pg from 'pg';

type Callback = (...args: unknown[]) => void;

/**
 * A `pg` client that gives up on a statement the server does not answer within
 * `timeoutMs`, by closing the connection: the caller gets an error the problem filter
 * answers with 503, and the pool discards the connection. (`pg`'s own `query_timeout`
 * rejects the promise but leaves the statement running on the connection, which then stays
 * in the pool with every later statement queued behind one that may never end, as on a
 * network partition.) PostgreSQL's `statement_timeout`, shorter, ends slow statements on
 * a live server first, and the connection stays usable.
 */
export function guardedClient(timeoutMs: number): typeof pg.Client {
  return class GuardedClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      const original = this.query.bind(this) as (...args: unknown[]) => unknown;
      const guarded = (...args: unknown[]): unknown => {
        const first = args[0] as { submit?: unknown } | null | undefined;
        // A Submittable (a cursor, a stream) manages its own lifetime.
        if (typeof first === 'object' && first !== null && typeof first.submit === 'function') {
          return original(...args);
        }
        const timer = setTimeout(() => this.giveUp(), timeoutMs);
        timer.unref();
        const last = args.at(-1);
        if (typeof last === 'function') {
          args[args.length - 1] = (...results: unknown[]) => {
            clearTimeout(timer);
            (last as Callback)(...results);
          };
          return original(...args);
        }
        return (original(...args) as Promise<unknown>).then(
          (result) => {
            clearTimeout(timer);
            return result;
          },
          (error: unknown) => {
            clearTimeout(timer);
            throw error;
          },
        );
      };
      this.query = guarded as typeof this.query;
    }

    private giveUp(): void {
      const connection = (
        this as unknown as { connection?: { stream?: { destroy(e?: Error): void } } }
      ).connection;
      connection?.stream?.destroy(
        new Error(`Statement timeout after ${timeoutMs} ms: the database is unreachable`),
      );
    }
  };
}

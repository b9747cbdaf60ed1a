import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataSourceOptions } from 'typeorm';
import { guardedClient } from './guarded-client.js';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Every entity of the service, found by convention rather than imported (the database
 * layer knows no feature): each module keeps the entities of the tables it owns in its
 * `entities/` folder (dist/src/<module>/entities/*.entity.js). The app, the CLI tools and
 * the TypeORM CLI use the same list; `test/migrations.e2e.test.ts` runs
 * `migration:generate --check` to prove that they and the migrations describe one schema.
 */
export const ENTITIES = [join(here, '..', '*', 'entities', '*.entity.js')];

/** How long the service waits for the database (see `DATABASE_*_TIMEOUT`). */
export interface DatabaseTimeouts {
  /** A connection from the pool, a new connection included (`connectionTimeoutMillis`). */
  connectTimeoutMs: number;
  /** PostgreSQL's `statement_timeout`; the client gives up one second later (silent server). */
  statementTimeoutMs: number;
  /** PostgreSQL's `idle_in_transaction_session_timeout`. */
  idleInTransactionTimeoutMs: number;
}

/** The defaults of the configuration, for tools that run without one. */
export const DEFAULT_TIMEOUTS: DatabaseTimeouts = {
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 10_000,
  idleInTransactionTimeoutMs: 30_000,
};

/**
 * Options shared by the application and the TypeORM CLI. `synchronize` is never on.
 * `timeouts` undefined (the TypeORM CLI, which runs long migrations by hand): only the
 * connect timeout, no statement timeout.
 */
export function dataSourceOptions(
  url: string,
  poolSize: number,
  timeouts?: DatabaseTimeouts,
): DataSourceOptions {
  const statementLimits = timeouts
    ? {
        // Sent in the start-up packet: every connection of the pool has them.
        statement_timeout: timeouts.statementTimeoutMs,
        idle_in_transaction_session_timeout: timeouts.idleInTransactionTimeoutMs,
        Client: guardedClient(timeouts.statementTimeoutMs + 1_000),
      }
    : {};
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    // Compiled migrations: dist/migrations/*.js (this file lives in dist/src/database).
    migrations: [join(here, '..', '..', 'migrations', '*.js')],
    migrationsTableName: 'migrations',
    synchronize: false,
    uuidExtension: 'pgcrypto',
    migrationsRun: false,
    logging: false,
    extra: {
      max: poolSize,
      // Fail fast instead of queueing forever when the database is gone or every
      // connection is taken: the wait for a pooled connection and the connect itself.
      connectionTimeoutMillis: (timeouts ?? DEFAULT_TIMEOUTS).connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      ...statementLimits,
    },
  };
}

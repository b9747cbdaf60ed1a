import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataSourceOptions } from 'typeorm';
import { RefreshToken } from '../sessions/entities/refresh-token.entity.js';
import { Session } from '../sessions/entities/session.entity.js';
import { User } from '../users/entities/user.entity.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Every entity of the service; the CLI and the app use the same list. */
export const ENTITIES = [User, Session, RefreshToken];

/** Options shared by the application and the TypeORM CLI. `synchronize` is never on. */
export function dataSourceOptions(url: string, poolSize: number): DataSourceOptions {
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
      // Fail fast instead of queueing forever when the database is gone.
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
    },
  };
}

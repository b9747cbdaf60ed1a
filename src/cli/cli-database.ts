import {
  Module,
  type DynamicModule,
  type INestApplicationContext,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { join } from 'node:path';
import { AuditModule } from '../audit/audit.module.js';
import type { AppConfig } from '../config/app-config.js';
import { ConfigModule } from '../config/config.module.js';
import { DatabaseModule } from '../database/database.module.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../database/embedded-postgres.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { PasswordPolicy } from '../users/password-policy.js';
import { PasswordService } from '../users/password.service.js';
import { UsersRepository } from '../users/users.repository.js';

/**
 * What the command-line tools need of the app: the configuration, the database (with its
 * transactions), the audit trail, sessions and the users table's repository. Not
 * UsersModule itself: its routes' rate limits would open Redis for nothing.
 */
@Module({})
class CliModule {
  static forRoot(config: AppConfig, databaseUrl: string, poolSize: number): DynamicModule {
    return {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot(databaseUrl, { poolSize }),
        AuditModule,
        SessionsModule,
      ],
      providers: [UsersRepository, PasswordService, PasswordPolicy],
      exports: [UsersRepository, PasswordService, PasswordPolicy],
    };
  }
}

export interface CliDatabase {
  /** A provider of the CLI's application context (repositories, services). */
  get<T>(type: Type<T>): T;
  close(): Promise<void>;
}

/**
 * The database a command-line tool works on: DATABASE_URL, or else the embedded PGlite
 * under DATA_DIR (like the TypeORM CLI; the server must be stopped, PGlite serves one
 * process), in a Nest application context of the app's own modules, so a tool goes
 * through the same repositories and transactions as the server. Pending migrations are
 * applied first unless MIGRATIONS_RUN=false, under the same advisory lock as at start-up,
 * so the tools work on a fresh database.
 */
export async function openCliDatabase(config: AppConfig, poolSize = 4): Promise<CliDatabase> {
  const embedded: EmbeddedPostgres | undefined = config.database.url
    ? undefined
    : await startEmbeddedPostgres({ dataDir: join(config.dataDir, 'pgdata'), port: 0 });
  let app: INestApplicationContext;
  try {
    app = await NestFactory.createApplicationContext(
      CliModule.forRoot(config, config.database.url ?? embedded!.url, poolSize),
      { logger: false, abortOnError: false },
    );
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  return {
    get: (type) => app.get(type),
    async close() {
      await app.close();
      await embedded?.stop();
    },
  };
}

/** Prints a line for the operator; CLIs talk to people, not to a log collector. */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

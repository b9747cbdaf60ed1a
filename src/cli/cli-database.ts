import { join } from 'node:path';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { dataSourceOptions } from '../database/data-source-options.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../database/embedded-postgres.js';
import { runMigrations } from '../database/migrate.js';

export interface CliDatabase {
  dataSource: DataSource;
  close(): Promise<void>;
}

/**
 * The database a command-line tool works on: DATABASE_URL, or else the embedded PGlite
 * under DATA_DIR (like the TypeORM CLI; the server must be stopped, PGlite serves one
 * process). Pending migrations are applied first unless MIGRATIONS_RUN=false, under the
 * same advisory lock as at start-up, so the tools work on a fresh database.
 */
export async function openCliDatabase(config: AppConfig, poolSize = 4): Promise<CliDatabase> {
  const embedded: EmbeddedPostgres | undefined = config.database.url
    ? undefined
    : await startEmbeddedPostgres({
        dataDir: join(config.dataDir, 'pgdata'),
        port: 0,
      });
  const dataSource = new DataSource(
    dataSourceOptions(config.database.url ?? embedded!.url, poolSize),
  );
  try {
    await dataSource.initialize();
    if (config.database.migrationsRun) await runMigrations(dataSource);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  return {
    dataSource,
    async close() {
      await dataSource.destroy();
      await embedded?.stop();
    },
  };
}

/** Prints a line for the operator; CLIs talk to people, not to a log collector. */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

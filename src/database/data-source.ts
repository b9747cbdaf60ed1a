/**
 * The DataSource for the TypeORM CLI (`npm run migration:run`, `migration:revert`,
 * `migration:generate`). It reads the same configuration as the app; without
 * `DATABASE_URL` it opens the embedded database under `DATA_DIR` (stop the server first:
 * PGlite allows one process at a time).
 */
import 'reflect-metadata';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { loadEnvFile } from '../config/env-file.js';
import { loadConfig } from '../config/app-config.js';
import { dataSourceOptions } from './data-source-options.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';

loadEnvFile();
const config = loadConfig();
const embedded = config.database.url
  ? undefined
  : await startEmbeddedPostgres({ dataDir: join(config.dataDir, 'pgdata'), port: 0 });

const dataSource = new DataSource(dataSourceOptions(config.database.url ?? embedded!.url, 4));

if (embedded) {
  // The CLI ends some commands (migration:revert) by destroying the DataSource without
  // calling process.exit: stop the embedded server too, so the process ends, and PGlite
  // closes cleanly with everything flushed to DATA_DIR.
  const destroy = dataSource.destroy.bind(dataSource);
  dataSource.destroy = async () => {
    await destroy();
    await embedded.stop();
  };
}

export default dataSource;

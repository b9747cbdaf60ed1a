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
const url =
  config.database.url ??
  (
    await startEmbeddedPostgres({
      dataDir: join(config.dataDir, 'pgdata'),
      port: 0,
    })
  ).url;

export default new DataSource(dataSourceOptions(url, 4));

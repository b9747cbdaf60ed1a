import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { dataSourceOptions } from './data-source-options.js';
import { runMigrations } from './migrate.js';
import { transactionsModule } from './transactions.js';

/**
 * TypeORM on the `pg` driver, against `databaseUrl` (a real PostgreSQL, or the embedded
 * PGlite started by `main.ts`). Pending migrations run before the app accepts requests
 * unless `MIGRATIONS_RUN=false`.
 */
@Module({})
export class DatabaseModule {
  /**
   * `tool`: for the command-line tools, a pool of `tool.poolSize` and no statement timeout
   * (a bulk insert may run long); the app uses the configured pool and timeouts.
   */
  static forRoot(databaseUrl: string, tool?: { poolSize: number }): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) =>
            tool
              ? dataSourceOptions(databaseUrl, tool.poolSize)
              : dataSourceOptions(databaseUrl, config.database.poolSize, {
                  connectTimeoutMs: config.database.connectTimeoutMs,
                  statementTimeoutMs: config.database.statementTimeoutMs,
                  idleInTransactionTimeoutMs: config.database.idleInTransactionTimeoutMs,
                }),
        }),
        transactionsModule(),
      ],
      providers: [
        {
          // Instantiated before any lifecycle hook runs, so every onModuleInit (such as the
          // admin bootstrap) sees the migrated schema.
          provide: 'DATABASE_MIGRATIONS',
          inject: [DataSource, AppConfig],
          useFactory: async (dataSource: DataSource, config: AppConfig) => {
            if (!config.database.migrationsRun) return [];
            const applied = await runMigrations(dataSource);
            if (applied.length)
              new Logger('Database').log(`Applied migrations: ${applied.join(', ')}`);
            return applied;
          },
        },
      ],
    };
  }
}

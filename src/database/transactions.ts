import { ClsPluginTransactional, TransactionHost } from '@nestjs-cls/transactional';
import { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { ClsModule } from 'nestjs-cls';
import { DataSource, type EntityManager } from 'typeorm';

/**
 * The one way to run a transaction: `@Transactional()` on a service method (or
 * `TransactionHost.withTransaction` where a decorator cannot go), from
 * `@nestjs-cls/transactional` with its TypeORM adapter. Repositories never take a
 * `manager` argument: they read `this.tx.tx`, which is the entity manager of the
 * transaction that is open in the current async context, or the data source's own
 * manager outside one (each statement then commits by itself).
 */
export type Tx = TransactionHost<TransactionalAdapterTypeOrm>;
/** The adapter, for `TransactionHost<TypeOrmTx>` in constructors (a type alias carries no DI token). */
export type TypeOrmTx = TransactionalAdapterTypeOrm;
export { TransactionHost, Transactional } from '@nestjs-cls/transactional';
export type { EntityManager };

/** Registered once, by DatabaseModule (global): TransactionHost is injectable everywhere. */
export const transactionsModule = () =>
  ClsModule.forRoot({
    global: true,
    plugins: [
      new ClsPluginTransactional({
        adapter: new TransactionalAdapterTypeOrm({ dataSourceToken: DataSource }),
      }),
    ],
  });

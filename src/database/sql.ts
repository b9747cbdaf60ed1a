import { DatabaseError, type Pool, type QueryResultRow } from 'pg';
import { QueryFailedError, type DataSource } from 'typeorm';

export interface SqlResult<T> {
  rows: T[];
  /** Rows inserted, updated, deleted or returned. */
  rowCount: number;
}

/** Statement names by text, for the whole process: one name always means one text. */
const names = new Map<string, string>();

function nameOf(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `authkit_${names.size + 1}`;
    names.set(text, name);
  }
  return name;
}

const instances = new WeakMap<DataSource, Sql>();

/**
 * Hot-path SQL straight on the `pg` pool that TypeORM opened (the same connections, no
 * second pool), as named prepared statements: each connection parses and plans a
 * statement once, then only binds and executes it. TypeORM's `query()` sends every
 * statement unnamed, so PostgreSQL parses and plans it again on every call, and wraps each
 * call in a query runner; for a request whose only work is a primary-key lookup, both cost
 * more than the lookup itself.
 *
 * For statements from a fixed set of texts (every value a placeholder) whose best plan
 * does not depend on the values: PostgreSQL may settle on one generic plan after a few
 * executions. Searches stay on TypeORM, where each call is planned for its own values.
 * Outside transactions only: each statement runs on whichever pooled connection is free,
 * in its own implicit transaction (a statement with data-modifying CTEs is still atomic).
 */
export class Sql {
  private pool: Pool | undefined;

  private constructor(private readonly dataSource: DataSource) {}

  /** The one instance for a data source (repositories are also built by the CLI tools). */
  static of(dataSource: DataSource): Sql {
    let sql = instances.get(dataSource);
    if (!sql) {
      sql = new Sql(dataSource);
      instances.set(dataSource, sql);
    }
    return sql;
  }

  /** Fails like TypeORM's `query()`: an error PostgreSQL answers is a `QueryFailedError`. */
  async query<T extends QueryResultRow>(text: string, values: unknown[]): Promise<SqlResult<T>> {
    try {
      const result = await this.connections().query<T>({ name: nameOf(text), text, values });
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    } catch (error) {
      throw error instanceof DatabaseError ? new QueryFailedError(text, values, error) : error;
    }
  }

  /** The pool TypeORM's PostgreSQL driver created when the data source was initialized. */
  private connections(): Pool {
    this.pool ??= (this.dataSource.driver as unknown as { master: Pool }).master;
    return this.pool;
  }
}

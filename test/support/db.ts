import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { citext } from '@electric-sql/pglite/contrib/citext';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import pg from 'pg';
import { PgliteTcpServer } from '../../src/database/pglite-tcp-server.js';

/**
 * A throwaway database for one test file (or a few servers of one file).
 *
 * With `DATABASE_URL` set (CI), it is a fresh database created on that PostgreSQL server;
 * otherwise an in-memory PGlite (with citext and pg_trgm) served over TCP in this process, so the server under test
 * always talks to it through the ordinary `pg` driver with a `DATABASE_URL`.
 */
export interface TestDatabase {
  url: string;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Makes the database unreachable for every client (for readiness tests). Not undoable. */
  disconnect(): Promise<void>;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.DATABASE_URL;
  return adminUrl ? createPostgresDatabase(adminUrl) : createPgliteDatabase();
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function makeQuery(pool: pg.Pool): TestDatabase['query'] {
  return async <T>(sql: string, params?: unknown[]) => {
    const result = await pool.query(sql, params);
    return result.rows as T[];
  };
}

async function createPostgresDatabase(adminUrl: string): Promise<TestDatabase> {
  const base = new URL(adminUrl);
  const baseName = decodeURIComponent(base.pathname.slice(1)) || 'postgres';
  const name = `${baseName.slice(0, 40)}_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));

  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  pool.on('error', () => undefined); // backends terminated on purpose in disconnect()/drop()
  let dropped = false;

  const terminate = (c: pg.Client) =>
    c.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );

  return {
    url: url.toString(),
    query: makeQuery(pool),
    async disconnect() {
      await pool.end().catch(() => undefined);
      await withClient(adminUrl, async (c) => {
        await c.query(`ALTER DATABASE ${quoteIdent(name)} ALLOW_CONNECTIONS false`);
        await terminate(c);
      });
    },
    async drop() {
      if (dropped) return;
      dropped = true;
      await pool.end().catch(() => undefined);
      await withClient(adminUrl, async (c) => {
        await terminate(c);
        await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
      });
    },
  };
}

async function createPgliteDatabase(): Promise<TestDatabase> {
  const db = new PGlite({ extensions: { pg_trgm, citext } });
  await db.waitReady;
  // Not PGLiteSocketServer: see PgliteTcpServer for why.
  const server = new PgliteTcpServer(db);
  const port = await server.start('127.0.0.1', 0);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => undefined);
  let stopped = false;
  let dropped = false;

  const stopServing = async () => {
    if (stopped) return;
    stopped = true;
    await pool.end().catch(() => undefined);
    await server.stop();
  };

  return {
    url,
    query: makeQuery(pool),
    disconnect: stopServing,
    async drop() {
      if (dropped) return;
      dropped = true;
      await stopServing();
      await db.close().catch(() => undefined);
    },
  };
}

import { PGlite } from '@electric-sql/pglite';
import { citext } from '@electric-sql/pglite/contrib/citext';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { mkdirSync } from 'node:fs';
import { PgliteTcpServer } from './pglite-tcp-server.js';

export interface EmbeddedPostgres {
  /** A `postgres://` URL the ordinary `pg` driver connects to. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL compiled to WebAssembly (PGlite) on `dataDir` (or in memory when
 * `dataDir` is undefined) and serves it on a loopback port, so TypeORM's `pg` driver and
 * the migrations work exactly as against a real server. (Served by our own small
 * `PgliteTcpServer` rather than `@electric-sql/pglite-socket`, whose multiplexer interleaves
 * the extended-protocol messages of concurrent connections; see that file.)
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string | undefined;
  port: number;
}): Promise<EmbeddedPostgres> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    extensions: { pg_trgm, citext },
  });
  const server = new PgliteTcpServer(db);
  const port = await server.start('127.0.0.1', options.port);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

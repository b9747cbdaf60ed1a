import { PGlite } from '@electric-sql/pglite';
import { citext } from '@electric-sql/pglite/contrib/citext';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
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
 *
 * On disk it is protected like a PostgreSQL data directory: a lock file next to it
 * (`<dataDir>.pid`, the pid of the one process allowed to open it), and a generated
 * password (`<dataDir>.password`, mode 0600) that every client of the loopback port must
 * prove with SCRAM-SHA-256. A transaction left open and idle for
 * `idleInTransactionTimeoutMs` is rolled back and its connection closed.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string | undefined;
  port: number;
  idleInTransactionTimeoutMs?: number;
}): Promise<EmbeddedPostgres> {
  let lock: DataDirLock | undefined;
  let password: string | undefined;
  if (options.dataDir) {
    mkdirSync(dirname(options.dataDir), { recursive: true });
    lock = lockDataDir(`${options.dataDir}.pid`, `DATA_DIR ${dirname(options.dataDir)}`);
    mkdirSync(options.dataDir, { recursive: true });
    password = embeddedPassword(`${options.dataDir}.password`);
  }
  try {
    const db = await PGlite.create({
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      extensions: { pg_trgm, citext },
    });
    const server = new PgliteTcpServer(db, {
      password,
      idleInTransactionTimeoutMs: options.idleInTransactionTimeoutMs,
    });
    const port = await server.start('127.0.0.1', options.port);
    const credentials = password ? `postgres:${encodeURIComponent(password)}` : 'postgres';
    return {
      url: `postgres://${credentials}@127.0.0.1:${port}/postgres?sslmode=disable`,
      async stop() {
        await server.stop();
        await db.close();
        lock?.release();
      },
    };
  } catch (error) {
    lock?.release();
    throw error;
  }
}

/** The password of the embedded server: read from `path`, or generated there (0600). */
function embeddedPassword(path: string): string {
  try {
    const existing = readFileSync(path, 'utf8').trim();
    chmodSync(path, 0o600);
    if (existing) return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const generated = randomBytes(24).toString('base64url');
  writeFileSync(path, `${generated}\n`, { mode: 0o600 });
  return generated;
}

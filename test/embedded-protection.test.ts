// The embedded database's protection, in process: the TCP bridge's SCRAM-SHA-256 password
// and idle-in-transaction timeout (src/database/pglite-tcp-server.ts), and the DATA_DIR lock
// file (src/database/data-dir-lock.ts). The same through the built server is in
// embedded.e2e.test.ts.
import { PGlite } from '@electric-sql/pglite';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataDirInUseError, lockDataDir } from '../src/database/data-dir-lock.js';
import { PgliteTcpServer } from '../src/database/pglite-tcp-server.js';

const PASSWORD = 'a-generated-password';

describe('PgliteTcpServer with a password and an idle-in-transaction timeout', () => {
  let db: PGlite;
  let server: PgliteTcpServer;
  let port: number;
  const clients: pg.Client[] = [];

  beforeAll(async () => {
    db = new PGlite();
    server = new PgliteTcpServer(db, { password: PASSWORD, idleInTransactionTimeoutMs: 1_000 });
    port = await server.start('127.0.0.1', 0);
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.end()));
    await server.stop();
    await db.close();
  });

  const client = (password?: string) => {
    const c = new pg.Client({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      database: 'postgres',
      password,
    });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };

  it('lets in a client that knows the password (SCRAM-SHA-256)', async () => {
    const c = client(PASSWORD);
    await c.connect();
    expect((await c.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('refuses a wrong password with 28P01, and a client with none', async () => {
    await expect(client('wrong').connect()).rejects.toMatchObject({ code: '28P01' });
    // pg refuses to go on without a password once the server asks for SCRAM.
    await expect(client(undefined).connect()).rejects.toThrow();
    await expect(client('').connect()).rejects.toThrow();
  });

  it('rolls back a transaction left idle, closes its connection, and lets the others go on', async () => {
    const idle = client(PASSWORD);
    await idle.connect();
    const closed = new Promise<Error>((resolve) => idle.once('error', resolve));
    await idle.query('BEGIN');
    await idle.query('CREATE TABLE left_open (id int)');

    const other = client(PASSWORD);
    await other.connect();
    // Waits while the other transaction is open, then runs once it is rolled back.
    const { rows } = await other.query<{ n: number }>('SELECT 2 AS n');
    expect(rows).toEqual([{ n: 2 }]);
    expect((await closed).message).toMatch(/idle-in-transaction timeout|terminated/);
    await expect(other.query('SELECT * FROM left_open')).rejects.toMatchObject({ code: '42P01' });
  }, 30_000);

  it('leaves a busy transaction alone', async () => {
    const busy = client(PASSWORD);
    await busy.connect();
    await busy.query('BEGIN');
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 400)); // each gap under the 1 s limit
      await busy.query('SELECT 1');
    }
    await busy.query('COMMIT');
  }, 30_000);
});

describe('DATA_DIR lock file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'authkit-lock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds the pid, refuses a second holder while that pid lives, and is removed on release', () => {
    const path = join(dir, 'live.pid');
    const lock = lockDataDir(path, 'DATA_DIR x');
    expect(readFileSync(path, 'utf8').trim()).toBe(String(process.pid));
    // Another live process (our parent) holds it:
    writeFileSync(path, `${process.ppid}\n`);
    expect(() => lockDataDir(path, 'DATA_DIR x')).toThrow(DataDirInUseError);
    expect(() => lockDataDir(path, 'DATA_DIR x')).toThrow(
      new RegExp(`DATA_DIR x is in use by another process \\(pid ${process.ppid}`),
    );
    writeFileSync(path, `${process.pid}\n`);
    lock.release();
    expect(existsSync(path)).toBe(false);
  });

  it('takes over a stale lock whose pid is dead', () => {
    const path = join(dir, 'stale.pid');
    // A pid that was alive and is not any more.
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], {
      encoding: 'utf8',
    });
    writeFileSync(path, dead.stdout);
    const lock = lockDataDir(path, 'DATA_DIR y');
    expect(readFileSync(path, 'utf8').trim()).toBe(String(process.pid));
    lock.release();
  });

  it('takes over a lock file with garbage in it', () => {
    const path = join(dir, 'garbage.pid');
    writeFileSync(path, 'not a pid');
    lockDataDir(path, 'DATA_DIR z').release();
  });
});

// Bare-machine defaults (embedded PGlite and a generated key under DATA_DIR) and fail-fast config.
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { login, registerAndLogin } from './support/fixtures.js';
import { describeResponse } from './support/http.js';
import {
  cleanup,
  freePort,
  makeDataDir,
  startProcess,
  startServer,
  tail,
  waitForExit,
  type Env,
} from './support/server.js';

const dirs: string[] = [];
let database: TestDatabase | undefined;

afterAll(async () => {
  await cleanup();
  await database?.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function freshDir(): string {
  const d = makeDataDir();
  dirs.push(d);
  return d;
}

async function kidOf(url: string): Promise<string> {
  const res = await fetch(`${url}/.well-known/jwks.json`);
  const body = (await res.json()) as { keys: { kid: string }[] };
  return body.keys[0].kid;
}

describe('embedded mode (no DATABASE_URL)', () => {
  it('keeps users and the signing key in DATA_DIR across restarts', async () => {
    const dataDir = freshDir();
    // Fixed, so that the issuer and audience do not change with the port across the restart.
    const env = { DATABASE_URL: undefined, PUBLIC_URL: 'http://auth.test' };
    const first = await startServer({ dataDir, env });
    const u = await registerAndLogin(first.api);
    const me = await first.api.get('/api/auth/me', { token: u.accessToken });
    expect(me.status, describeResponse(me)).toBe(200);
    const kid = await kidOf(first.url);
    expect(await first.stop(), tail(first.logs)).toBe(0);
    expect(readdirSync(dataDir).length).toBeGreaterThan(0);

    const second = await startServer({ dataDir, env });
    const again = await login(second.api, u.email, u.password);
    expect(again.user.id).toBe(u.user.id);
    expect(await kidOf(second.url)).toBe(kid);
    // A token signed before the restart is still valid: same key, same session.
    const before = await second.api.get('/api/auth/me', { token: u.accessToken });
    expect(before.status, describeResponse(before)).toBe(200);
    await second.stop();
  }, 150_000);
});

describe('embedded database protection', () => {
  it('refuses a second process on the same DATA_DIR with one line, and starts again after a SIGKILL', async () => {
    const dataDir = freshDir();
    const env = { DATABASE_URL: undefined };
    const first = await startServer({ dataDir, env });
    const second = startProcess({
      HOST: '127.0.0.1',
      PORT: '0',
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
    });
    const code = await waitForExit(second, 45_000);
    expect(code, tail(second.logs)).toBe(1);
    const lines = second.logs.filter((l) => l.includes('in use by another process'));
    expect(lines, tail(second.logs)).toHaveLength(1);
    expect(lines[0]).toContain(`pid ${first.child.pid}`);
    expect(second.logs.filter((l) => /^\s+at /.test(l))).toEqual([]);
    // The first one was not disturbed.
    expect((await first.api.get('/health/ready')).status).toBe(200);

    // A lock left by a killed process is stale: the next start takes it over.
    first.kill();
    expect(await first.stop()).toBeNull();
    const third = await startServer({ dataDir, env });
    expect((await third.api.get('/health/ready')).status).toBe(200);
    expect(await third.stop(), tail(third.logs)).toBe(0);
  }, 150_000);

  it('asks every client for the generated password kept in DATA_DIR (0600), and ends a transaction left idle', async () => {
    const dataDir = freshDir();
    const pglitePort = await freePort();
    const server = await startServer({
      dataDir,
      env: {
        DATABASE_URL: undefined,
        PGLITE_PORT: String(pglitePort),
        DATABASE_IDLE_IN_TRANSACTION_TIMEOUT: '2s',
      },
    });
    const passwordFile = join(dataDir, 'pgdata.password');
    expect(statSync(passwordFile).mode & 0o777).toBe(0o600);
    const password = readFileSync(passwordFile, 'utf8').trim();
    expect(password.length).toBeGreaterThanOrEqual(24);
    expect(server.logs.join('\n')).not.toContain(password);

    const connect = async (pw: string | undefined) => {
      const c = new pg.Client({
        host: '127.0.0.1',
        port: pglitePort,
        user: 'postgres',
        database: 'postgres',
        password: pw,
      });
      c.on('error', () => undefined);
      await c.connect();
      return c;
    };
    // Any user, no password: refused (was: in, with every hash readable).
    await expect(connect(undefined)).rejects.toThrow();
    await expect(connect('postgres')).rejects.toMatchObject({ code: '28P01' });

    // Even with the password, one idle BEGIN does not stall the service for good.
    const u = await registerAndLogin(server.api);
    const intruder = await connect(password);
    await intruder.query('BEGIN');
    await intruder.query('SELECT count(*) FROM users');
    const res = await server.api.post('/api/auth/login', { email: u.email, password: u.password });
    expect(res.status, describeResponse(res)).toBe(200);
    await expect(intruder.query('SELECT 1')).rejects.toThrow();
    await intruder.end().catch(() => undefined);
    await server.stop();
  }, 150_000);

  it('refuses NODE_ENV=production without DATABASE_URL, in one line', async () => {
    const { privateKey } = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const proc = startProcess({
      HOST: '127.0.0.1',
      PORT: '0',
      NODE_ENV: 'production',
      DATA_DIR: freshDir(),
      JWT_PRIVATE_KEY: privateKey,
    });
    expect(await waitForExit(proc, 45_000)).toBe(1);
    const lines = proc.logs.filter((l) =>
      l.includes('DATABASE_URL is required when NODE_ENV=production'),
    );
    expect(lines, tail(proc.logs)).toHaveLength(1);
    expect(proc.logs.filter((l) => /^\s+at /.test(l))).toEqual([]);
  }, 60_000);
});

describe('start-up configuration', () => {
  /** Starts the server expecting it to refuse; returns its output lines. */
  async function refuses(env: Env): Promise<string[]> {
    const proc = startProcess({
      HOST: '127.0.0.1',
      PORT: '0',
      NODE_ENV: 'test',
      DATA_DIR: freshDir(),
      ...env,
    });
    const code = await waitForExit(proc, 45_000);
    expect(code, `exit code; output:\n${tail(proc.logs)}`).not.toBe(0);
    expect(code, `ended by ${proc.signal()}; output:\n${tail(proc.logs)}`).not.toBeNull();
    return proc.logs;
  }

  it('refuses NODE_ENV=production without JWT_PRIVATE_KEY, naming the variable', async () => {
    database ??= await createTestDatabase();
    const logs = await refuses({ NODE_ENV: 'production', DATABASE_URL: database.url });
    expect(
      logs.some((l) => l.includes('JWT_PRIVATE_KEY')),
      logs.join('\n'),
    ).toBe(true);
  }, 60_000);

  it('starts with NODE_ENV=production when JWT_PRIVATE_KEY and DATABASE_URL are set', async () => {
    database ??= await createTestDatabase();
    const { privateKey } = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const s = await startServer({
      database,
      env: { NODE_ENV: 'production', JWT_PRIVATE_KEY: privateKey },
    });
    expect((await s.api.get('/health/ready')).status).toBe(200);
    await s.stop();
  }, 90_000);

  it.each([
    ['ACCESS_TOKEN_TTL', 'abc'],
    ['ACCESS_TOKEN_TTL', '0s'],
    ['REFRESH_TOKEN_TTL', '-5m'],
    ['SESSION_MAX_AGE', '100000d'],
    ['SHUTDOWN_TIMEOUT', '30d'],
    ['PORT', 'notaport'],
    ['PORT', '70000'],
    ['REFRESH_TOKEN_TRANSPORT', 'carrier-pigeon'],
    ['EMAIL_VERIFICATION', 'sometimes'],
    ['ARGON2_MEMORY_COST', 'lots'],
    ['ARGON2_CONCURRENCY', '-1'],
    ['BODY_LIMIT', 'big'],
    ['LOG_LEVEL', 'chatty'],
  ])(
    'refuses %s=%s with one line naming the variable',
    async (name, value) => {
      const logs = await refuses({
        DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
        [name]: value,
      });
      const naming = logs.filter((l) => l.includes(name));
      expect(naming.length, logs.join('\n')).toBeGreaterThanOrEqual(1);
      // A clean message, not a stack trace.
      expect(
        logs.filter((l) => /^\s+at /.test(l)),
        logs.join('\n'),
      ).toEqual([]);
    },
    60_000,
  );
});

// Bare-machine defaults (embedded PGlite and a generated key under DATA_DIR) and fail-fast config.
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { login, registerAndLogin } from './support/fixtures.js';
import { describeResponse } from './support/http.js';
import {
  cleanup,
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

// The typed-client proof (examples/client): types generated from the committed openapi.json
// by openapi-typescript, the example type-checked and compiled with its own tsconfig, then
// run against a real server. It must pass against the server and fail on a wrong answer.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv, cleanup, ROOT, startServer, type TestServer } from './support/server.js';

const run = promisify(execFile);
const bin = (name: string) => join(ROOT, 'node_modules/.bin', name);
const COMPILED = join(ROOT, 'dist/examples/client/src/main.js');

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function runClient(baseUrl: string): Promise<Outcome> {
  return run(process.execPath, [COMPILED, baseUrl], {
    cwd: ROOT,
    env: childEnv({}),
    timeout: 60_000,
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
}

let server: TestServer;

beforeAll(async () => {
  // The same commands a developer runs (package.json: client:generate, then tsc).
  await run(
    bin('openapi-typescript'),
    ['openapi.json', '-o', 'examples/client/generated/api.d.ts'],
    {
      cwd: ROOT,
      env: childEnv({}),
    },
  );
  await run(bin('tsc'), ['-p', 'examples/client/tsconfig.json'], {
    cwd: ROOT,
    env: childEnv({}),
  }).catch((e: { stdout: string; stderr: string }) => {
    throw new Error(`the typed client does not type-check:\n${e.stdout}${e.stderr}`);
  });
  server = await startServer();
}, 180_000);

afterAll(cleanup);

describe('typed client (openapi-typescript + openapi-fetch)', () => {
  it('registers, logs in, reads me, refreshes and logs out against the server', async () => {
    const result = await runClient(server.url);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    for (const step of ['register: 201', 'login: 200', 'me: 200', 'refresh: 200', 'logout: 204']) {
      expect(result.stdout).toContain(step);
    }
    expect(result.stdout).toContain('me after logout: 401 UNAUTHORIZED');
  }, 90_000);

  it('exits non-zero on an unexpected answer', async () => {
    // Every route under this prefix is unknown: register answers 404 instead of 201.
    const result = await runClient(`${server.url}/not-the-api`);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/register: expected 201, got 404 NOT_FOUND/);
  }, 90_000);
});

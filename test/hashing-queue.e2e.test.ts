// Issue 13, item 3, end to end: the argon2 line is bounded. One hash at a time, room for two
// waiters and expensive parameters: a burst of logins and password changes gets some
// 503 SERVICE_UNAVAILABLE (problem+json, Retry-After) and otherwise its normal answers,
// never a 500; afterwards the service answers normally again. No timing is asserted: with
// 40 requests in flight against 3 places, some must be refused.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryAfter } from './support/audit.js';
import { registerAndLogin, strongPassword, type LoggedInUser } from './support/fixtures.js';
import { type ApiResponse, describeResponse, expectProblem } from './support/http.js';
import { cleanup, startServer, type TestServer } from './support/server.js';

let server: TestServer;
let users: LoggedInUser[];

beforeAll(async () => {
  server = await startServer({
    env: {
      ARGON2_CONCURRENCY: '1',
      ARGON2_MAX_QUEUE: '2',
      ARGON2_MEMORY_COST: '65536',
      ARGON2_TIME_COST: '3',
    },
  });
  users = [];
  // One after the other: each registration and login hashes once.
  for (let i = 0; i < 3; i++) users.push(await registerAndLogin(server.api));
}, 120_000);

afterAll(cleanup);

describe('a burst against a full hashing line', () => {
  it('answers 503 with Retry-After to some, the normal answer to the rest, never a 500', async () => {
    const requests: { send: () => Promise<ApiResponse>; ok: number[] }[] = [];
    for (let i = 0; i < 40; i++) {
      const u = users[i % users.length];
      switch (i % 4) {
        case 0:
          requests.push({
            send: () =>
              server.api.post('/api/auth/login', { email: u.email, password: u.password }),
            ok: [200],
          });
          break;
        case 1:
          requests.push({
            send: () => server.api.post('/api/auth/login', { email: u.email, password: 'wrong' }),
            ok: [401],
          });
          break;
        case 2:
          requests.push({
            send: () =>
              server.api.post('/api/auth/login', {
                email: `nobody-${randomUUID()}@example.com`,
                password: 'whatever-123',
              }),
            ok: [401],
          });
          break;
        default:
          requests.push({
            send: () =>
              server.api.post(
                '/api/auth/change-password',
                { currentPassword: 'not it', newPassword: strongPassword() },
                { token: u.accessToken },
              ),
            ok: [400],
          });
      }
    }
    const answers = await Promise.all(requests.map((r) => r.send()));
    let refused = 0;
    answers.forEach((res, i) => {
      if (res.status === 503) {
        refused += 1;
        expectProblem(res, 503, 'SERVICE_UNAVAILABLE');
        expect(retryAfter(res)).toBeGreaterThanOrEqual(1);
      } else {
        expect(requests[i].ok, describeResponse(res)).toContain(res.status);
      }
    });
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThan(answers.length);

    // Drained: the next requests get their normal answers.
    const u = users[0];
    const again = await server.api.post('/api/auth/login', {
      email: u.email,
      password: u.password,
    });
    expect(again.status, describeResponse(again)).toBe(200);
    const unknown = await server.api.post('/api/auth/login', {
      email: `nobody-${randomUUID()}@example.com`,
      password: 'whatever-123',
    });
    expectProblem(unknown, 401, 'INVALID_CREDENTIALS');
  }, 120_000);

  it('documents the 503 and its Retry-After on the hashing routes', async () => {
    const spec = (await server.api.get('/docs-json')).body;
    for (const [path, method] of [
      ['/api/auth/register', 'post'],
      ['/api/auth/login', 'post'],
      ['/api/auth/change-password', 'post'],
      ['/api/recovery/reset-password', 'post'],
      ['/api/users/me', 'delete'],
      ['/api/users', 'post'],
      ['/api/users/{id}', 'patch'],
    ]) {
      const response = spec.paths[path][method].responses['503'];
      expect(response, `${method} ${path}`).toBeDefined();
      expect(response.headers['Retry-After']).toBeDefined();
    }
  });
});

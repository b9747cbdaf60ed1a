// Issue 13, item 2 and its class: every check of a password or a code is rate limited and
// backed off per account. Current-password checks (change-password, DELETE /users/me) share
// the login backoff of the account's email; the hashing routes keyed by the caller have
// per-user limits; and a walk over the OpenAPI document fails for any operation whose body
// takes a `password`, `currentPassword` or `code` without a documented 429.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryAfter, untilNotLimited } from './support/audit.js';
import { registerAndLogin, strongPassword, uniqueEmail } from './support/fixtures.js';
import { type ApiResponse, expectProblem } from './support/http.js';
import { cleanup, startServer, type TestServer } from './support/server.js';

const ADMIN_EMAIL = 'checks-admin@example.com';
const ADMIN_PASSWORD = 'checks admin passphrase 4417';
const THRESHOLD = 3;

/** Backoff after 3 failures, locked for 2 s; rate limits relaxed. */
let backoff: TestServer;
/** Per-user (and per-token) limits of 2 per minute on the new routes; backoff relaxed. */
let limits: TestServer;
let adminToken: string;

beforeAll(async () => {
  [backoff, limits] = await Promise.all([
    startServer({
      env: {
        LOGIN_BACKOFF_THRESHOLD: String(THRESHOLD),
        LOGIN_BACKOFF_DELAY: '2s',
        LOGIN_BACKOFF_MAX_DELAY: '2s',
      },
    }),
    startServer({
      env: {
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
        RATE_LIMIT_CHANGE_PASSWORD_ACCOUNT: '2/1m',
        RATE_LIMIT_DELETE_ACCOUNT_ACCOUNT: '2/1m',
        RATE_LIMIT_RESET_PASSWORD_ACCOUNT: '2/1m',
        RATE_LIMIT_ADMIN_PASSWORD_ACCOUNT: '2/1m',
      },
    }),
  ]);
  const res = await limits.api.post('/api/auth/login', {
    email: ADMIN_EMAIL,
    password: ADMIN_PASSWORD,
  });
  expect(res.status).toBe(200);
  adminToken = res.body.access_token;
}, 120_000);

afterAll(cleanup);

function changePassword(server: TestServer, token: string, currentPassword: string) {
  return server.api.post(
    '/api/auth/change-password',
    { currentPassword, newPassword: strongPassword() },
    { token },
  );
}

function deleteMe(server: TestServer, token: string, password: string) {
  return server.api.request('DELETE', '/api/users/me', { token, body: { password } });
}

function expectLocked(res: ApiResponse): void {
  expectProblem(res, 429, 'RATE_LIMITED');
  expect(retryAfter(res)).toBeGreaterThanOrEqual(1);
}

describe('current-password checks under the login backoff', () => {
  it('change-password: after the threshold of wrong guesses even the right one is refused until the lock ends', async () => {
    const u = await registerAndLogin(backoff.api);
    for (let i = 0; i < THRESHOLD; i++) {
      expectProblem(
        await changePassword(backoff, u.accessToken, `wrong-${i}`),
        400,
        'INVALID_CURRENT_PASSWORD',
      );
    }
    expectLocked(await changePassword(backoff, u.accessToken, u.password));
    // The same counter as a login by that email.
    expectLocked(
      await backoff.api.post('/api/auth/login', { email: u.email, password: u.password }),
    );
    const after = await untilNotLimited(() => changePassword(backoff, u.accessToken, u.password));
    expect(after.status).toBe(204);
  }, 60_000);

  it('DELETE /api/users/me: the same', async () => {
    const u = await registerAndLogin(backoff.api);
    for (let i = 0; i < THRESHOLD; i++) {
      expectProblem(
        await deleteMe(backoff, u.accessToken, `wrong-${i}`),
        400,
        'INVALID_CURRENT_PASSWORD',
      );
    }
    expectLocked(await deleteMe(backoff, u.accessToken, u.password));
    const after = await untilNotLimited(() => deleteMe(backoff, u.accessToken, u.password));
    expect(after.status).toBe(204);
  }, 60_000);

  it('wrong logins by the email count against the current-password check too', async () => {
    const u = await registerAndLogin(backoff.api);
    for (let i = 0; i < THRESHOLD; i++) {
      const res = await backoff.api.post('/api/auth/login', { email: u.email, password: 'nope' });
      expectProblem(res, 401, 'INVALID_CREDENTIALS');
    }
    expectLocked(await changePassword(backoff, u.accessToken, u.password));
  });

  it('a right current password clears the counter, as a successful login does', async () => {
    const u = await registerAndLogin(backoff.api);
    let password = u.password;
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < THRESHOLD - 1; i++) {
        expectProblem(
          await changePassword(backoff, u.accessToken, `wrong-${i}`),
          400,
          'INVALID_CURRENT_PASSWORD',
        );
      }
      const newPassword = strongPassword();
      const res = await backoff.api.post(
        '/api/auth/change-password',
        { currentPassword: password, newPassword },
        { token: u.accessToken },
      );
      expect(res.status).toBe(204);
      password = newPassword;
    }
  });
});

describe('per-user and per-token limits on the hashing routes', () => {
  it('change-password: per user, not per IP', async () => {
    const [a, b] = await Promise.all([registerAndLogin(limits.api), registerAndLogin(limits.api)]);
    for (let i = 0; i < 2; i++) {
      expectProblem(await changePassword(limits, a.accessToken, 'wrong'), 400);
    }
    expectLocked(await changePassword(limits, a.accessToken, a.password));
    // Another account from the same address has its own budget.
    expectProblem(
      await changePassword(limits, b.accessToken, 'wrong'),
      400,
      'INVALID_CURRENT_PASSWORD',
    );
  });

  it('DELETE /api/users/me: per user', async () => {
    const a = await registerAndLogin(limits.api);
    for (let i = 0; i < 2; i++) expectProblem(await deleteMe(limits, a.accessToken, 'wrong'), 400);
    expectLocked(await deleteMe(limits, a.accessToken, a.password));
  });

  it('an unauthenticated request is a 401, not counted against anyone', async () => {
    const res = await limits.api.post('/api/auth/change-password', {
      currentPassword: 'x',
      newPassword: strongPassword(),
    });
    expectProblem(res, 401, 'UNAUTHORIZED');
  });

  it('reset-password: per presented token', async () => {
    const token = `made-up-${uniqueEmail()}`;
    const send = () =>
      limits.api.post('/api/recovery/reset-password', { token, newPassword: strongPassword() });
    for (let i = 0; i < 2; i++) expectProblem(await send(), 400, 'INVALID_OR_EXPIRED_TOKEN');
    expectLocked(await send());
  });

  it('admin writes that hash a password: per admin; updates without a password are not counted', async () => {
    const target = await registerAndLogin(limits.api);
    for (let i = 0; i < 3; i++) {
      const res = await limits.api.patch(
        `/api/users/${target.user.id}`,
        { firstName: `Name${i}` },
        { token: adminToken },
      );
      expect(res.status).toBe(200);
    }
    const create = () =>
      limits.api.post(
        '/api/users',
        { email: uniqueEmail('made'), password: strongPassword() },
        { token: adminToken },
      );
    expect((await create()).status).toBe(201);
    const patched = await limits.api.patch(
      `/api/users/${target.user.id}`,
      { password: strongPassword() },
      { token: adminToken },
    );
    expect(patched.status).toBe(200);
    expectLocked(await create());
  });
});

type Schema = {
  $ref?: string;
  properties?: Record<string, Schema>;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
};

/** Property names of a schema, through `$ref` and compositions. */
function propertyNames(schema: Schema | undefined, spec: any, seen = new Set<string>()): string[] {
  if (!schema) return [];
  if (schema.$ref) {
    if (seen.has(schema.$ref)) return [];
    seen.add(schema.$ref);
    const target = schema.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce((node: any, key) => node?.[key], spec) as Schema | undefined;
    return propertyNames(target, spec, seen);
  }
  return [
    ...Object.keys(schema.properties ?? {}),
    ...[...(schema.allOf ?? []), ...(schema.oneOf ?? []), ...(schema.anyOf ?? [])].flatMap((s) =>
      propertyNames(s, spec, seen),
    ),
  ];
}

const SECRET_FIELDS = ['password', 'currentPassword', 'code'];
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

describe('the class: every operation that checks a password or a code documents a 429', () => {
  it('walks /docs-json', async () => {
    const spec = (await limits.api.get('/docs-json')).body;
    const checked: string[] = [];
    const missing: string[] = [];
    for (const [path, item] of Object.entries<any>(spec.paths)) {
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation?.requestBody) continue;
        const fields = Object.values<any>(operation.requestBody.content ?? {}).flatMap((media) =>
          propertyNames(media.schema, spec),
        );
        if (!fields.some((field) => SECRET_FIELDS.includes(field))) continue;
        const name = `${method.toUpperCase()} ${path}`;
        checked.push(name);
        if (!operation.responses?.['429']) missing.push(name);
        else expect(operation.responses['429'].headers?.['Retry-After']).toBeDefined();
      }
    }
    // The walk itself works: it finds the routes known to take such a field.
    expect(checked).toEqual(
      expect.arrayContaining([
        'POST /api/auth/login',
        'POST /api/auth/register',
        'POST /api/auth/change-password',
        'DELETE /api/users/me',
        'POST /api/users',
        'PATCH /api/users/{id}',
        'POST /api/recovery/verify-otp',
      ]),
    );
    expect(missing).toEqual([]);
  });
});

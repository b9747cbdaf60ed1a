// Problem documents, body parsing limits, request ids, and what responses must never contain.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  login,
  register,
  registerAndLogin,
  strongPassword,
  uniqueEmail,
} from './support/fixtures.js';
import { type Api, describeResponse, expectProblem, findLeaks, UUID_RE } from './support/http.js';
import { cleanup, startServer, type TestServer } from './support/server.js';

const ADMIN_EMAIL = 'errors-admin@example.com';
const ADMIN_PASSWORD = 'errors-bootstrap-passphrase';

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startServer({ env: { ADMIN_EMAIL, ADMIN_PASSWORD } });
  api = server.api;
});
afterAll(cleanup);

const registerBody = () => ({ email: uniqueEmail(), password: strongPassword() });

describe('problem documents', () => {
  it('have type, title, status, detail, code and requestId, as application/problem+json', async () => {
    const res = await api.get('/api/no-such-route');
    const p = expectProblem(res, 404, 'NOT_FOUND');
    expect(p.type).toBe('about:blank');
    expect(p.title).toBe('Not Found');
    expect(p.requestId).toMatch(UUID_RE);
    expect(p.requestId).toBe(res.headers.get('x-request-id'));
    expect(p).not.toHaveProperty('errors');
  });

  it('answer 404 NOT_FOUND to unknown routes inside and outside /api', async () => {
    expectProblem(await api.get('/no-such-page'), 404, 'NOT_FOUND');
    expectProblem(await api.post('/api/auth/no-such-action', {}), 404, 'NOT_FOUND');
  });

  it('carry errors[] with field and message on validation failures', async () => {
    const res = await api.post('/api/auth/register', { email: 'nope', password: strongPassword() });
    const p = expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(p.title).toBe('Bad Request');
    expect(p.errors).toEqual([{ field: 'email', message: expect.any(String) }]);
  });
});

describe('request bodies', () => {
  it('malformed JSON gets 400 VALIDATION_FAILED', async () => {
    const res = await api.request('POST', '/api/auth/register', {
      rawBody: '{"email": "a@example.com", "password": ',
      contentType: 'application/json',
    });
    expectProblem(res, 400, 'VALIDATION_FAILED');
  });

  it('an unknown property gets 400 VALIDATION_FAILED and nothing is created', async () => {
    const body = { ...registerBody(), role: 'ADMIN' };
    const res = await api.post('/api/auth/register', body);
    const p = expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(p.errors?.map((e) => e.field)).toContain('role');
    // The same email is still free.
    const again = await api.post('/api/auth/register', {
      email: body.email,
      password: body.password,
    });
    expect(again.status, describeResponse(again)).toBe(201);
    expect(again.body.user.role).toBe('USER');
  });

  it.each([
    ['active', false],
    ['emailVerified', true],
    ['id', '00000000-0000-4000-8000-000000000000'],
    ['createdAt', '2000-01-01T00:00:00.000Z'],
  ])('mass-assigning %s on register gets 400', async (field, value) => {
    const res = await api.post('/api/auth/register', { ...registerBody(), [field]: value });
    expectProblem(res, 400, 'VALIDATION_FAILED');
  });

  it.each([
    ['an array', '[{"email":"a@example.com","password":"correct-horse-battery"}]'],
    ['an empty array', '[]'],
    ['a string', '"hello"'],
    ['a number', '42'],
    ['null', 'null'],
    ['true', 'true'],
  ])('%s as JSON body gets 400 VALIDATION_FAILED', async (_name, raw) => {
    for (const path of ['/api/auth/register', '/api/auth/login']) {
      const res = await api.request('POST', path, {
        rawBody: raw,
        contentType: 'application/json',
      });
      expectProblem(res, 400, 'VALIDATION_FAILED');
    }
  });

  it('text/plain gets 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await api.request('POST', '/api/auth/login', {
      rawBody: JSON.stringify({ email: uniqueEmail(), password: strongPassword() }),
      contentType: 'text/plain',
    });
    expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('form-encoded gets 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const { email, password } = await register(api);
    const res = await api.request('POST', '/api/auth/login', {
      rawBody: new URLSearchParams({ email, password }).toString(),
      contentType: 'application/x-www-form-urlencoded',
    });
    expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('multipart gets 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const { email, password } = await register(api);
    const boundary = '----authkit-test-boundary';
    const part = (name: string, value: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const res = await api.request('POST', '/api/auth/login', {
      rawBody: `${part('email', email)}${part('password', password)}--${boundary}--\r\n`,
      contentType: `multipart/form-data; boundary=${boundary}`,
    });
    expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('a JSON body with a charset parameter is accepted', async () => {
    const body = registerBody();
    const res = await api.request('POST', '/api/auth/register', {
      rawBody: JSON.stringify(body),
      contentType: 'application/json; charset=utf-8',
    });
    expect(res.status, describeResponse(res)).toBe(201);
  });

  it('a body over 64 KiB gets 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await api.post('/api/auth/register', {
      email: uniqueEmail(),
      password: strongPassword(),
      firstName: 'x'.repeat(70 * 1024),
    });
    expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('a body just under 64 KiB is parsed (and judged by validation, not by size)', async () => {
    const res = await api.post('/api/auth/register', {
      email: 'not-an-email',
      password: strongPassword(),
      firstName: 'x'.repeat(60 * 1024),
    });
    const p = expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(p.errors?.map((e) => e.field)).toContain('email');
  });
});

describe('input PostgreSQL cannot hold, and URLs the router refuses', () => {
  it('a NUL character in any JSON field gets 400 VALIDATION_FAILED naming the field', async () => {
    const u = await registerAndLogin(api);
    const cases: [string, () => ReturnType<Api['get']>, string][] = [
      [
        'email',
        () => api.post('/api/auth/login', { email: 'a\u0000@x.io', password: 'x' }),
        'email',
      ],
      [
        'username',
        () => api.post('/api/auth/login', { username: 'a\u0000', password: 'x' }),
        'username',
      ],
      [
        'firstName',
        () => api.patch('/api/users/me', { firstName: 'A\u0000' }, { token: u.accessToken }),
        'firstName',
      ],
      [
        'register',
        () => api.post('/api/auth/register', { ...registerBody(), lastName: '\u0000' }),
        'lastName',
      ],
    ];
    for (const [name, send, field] of cases) {
      const p = expectProblem(await send(), 400, 'VALIDATION_FAILED');
      expect(p.errors, name).toEqual([
        { field, message: `${field} must not contain the NUL character` },
      ]);
    }
    const me = await api.get('/api/users/me', { token: u.accessToken });
    expect(me.body.firstName).toBe(u.user.firstName);
  });

  it('a NUL character in a query parameter gets 400 VALIDATION_FAILED', async () => {
    const admin = await login(api, ADMIN_EMAIL, ADMIN_PASSWORD);
    const res = await api.get('/api/users?search=a%00b', { token: admin.accessToken });
    const p = expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(p.errors).toEqual([
      { field: 'search', message: 'search must not contain the NUL character' },
    ]);
  });

  it('a path parameter over 100 characters or a broken percent-encoding gets a problem document', async () => {
    const u = await registerAndLogin(api);
    for (const path of [
      `/api/users/${'x'.repeat(200)}`,
      `/api/auth/sessions/${'%F0%9F%92%A5'.repeat(40)}`,
    ]) {
      const res = await api.request('DELETE', path, { token: u.accessToken });
      const p = expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(p.requestId).toBe(res.headers.get('x-request-id'));
    }
    expectProblem(
      await api.get('/api/users/%E0%A4%A', { token: u.accessToken }),
      400,
      'VALIDATION_FAILED',
    );
  });
});

describe('X-Request-Id', () => {
  it('echoes an incoming UUID', async () => {
    const id = randomUUID();
    const res = await api.get('/health/live', { headers: { 'x-request-id': id } });
    expect(res.headers.get('x-request-id')).toBe(id);
    const err = await api.get('/api/auth/me', { headers: { 'x-request-id': id } });
    expect(err.headers.get('x-request-id')).toBe(id);
    expect(err.body.requestId).toBe(id);
  });

  it.each([
    ['not a UUID', 'abc'],
    ['a UUID with trailing junk', `${randomUUID()}x`],
    ['an injection attempt', 'a"},{"level":"fatal","x":"<script>'],
  ])('replaces %s with a fresh UUID', async (_name, value) => {
    const res = await api.get('/api/auth/me', { headers: { 'x-request-id': value } });
    const header = res.headers.get('x-request-id');
    expect(header).toMatch(UUID_RE);
    expect(header).not.toBe(value);
    expect(res.body.requestId).toBe(header);
  });

  it('is present, and different, on every kind of response', async () => {
    const u = await registerAndLogin(api);
    const responses = [
      await api.get('/health/live'),
      await api.get('/health/ready'),
      await api.get('/.well-known/jwks.json'),
      await api.get('/docs-json'),
      await api.get('/api/auth/me', { token: u.accessToken }),
      await api.post('/api/auth/register', registerBody()),
      await api.post('/api/auth/logout', undefined, { token: u.accessToken }),
      await api.get('/api/auth/me'),
      await api.get('/nowhere'),
      await api.post('/api/auth/register', { email: 'x' }),
      await api.request('POST', '/api/auth/login', { rawBody: 'x', contentType: 'text/plain' }),
      await api.request('POST', '/api/auth/login', {
        rawBody: '{',
        contentType: 'application/json',
      }),
      await api.post('/api/auth/register', { ...registerBody(), firstName: 'x'.repeat(70_000) }),
    ];
    const ids = responses.map((r) => r.headers.get('x-request-id'));
    for (const [i, id] of ids.entries()) {
      expect(id, describeResponse(responses[i])).toMatch(UUID_RE);
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(responses.map((r) => r.status)).toEqual([
      200, 200, 200, 200, 200, 201, 204, 401, 404, 400, 415, 400, 413,
    ]);
  });
});

describe('responses', () => {
  // Last in the file: scans every response the tests above received.
  it('never contained a password hash, a token hash or a stack trace in this file', () => {
    expect(findLeaks(api)).toEqual([]);
  });

  it('never contain the submitted password', () => {
    const leaked = api.history.filter((r) => /correct-horse-[0-9a-f]{12}/.test(r.text));
    expect(leaked).toEqual([]);
  });
});

// Issue 17 points 1 and 3: `npm run import-users` (the built CLI, against the same database
// as a running server). Imported users sign in through HTTP with their old passwords;
// a dry run writes nothing; a bad row fails only its batch; a re-run with skip changes
// nothing; ObjectIds become externalId; duplicates in the file and the last-admin rule
// are refused per row; no email is queued unless --send-verification.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from './support/db.js';
import { register, registerAndLogin, uniqueEmail, uniqueUsername } from './support/fixtures.js';
import { expectProblem } from './support/http.js';
import {
  ROOT,
  childEnv,
  cleanup,
  makeDataDir,
  startServer,
  type TestServer,
} from './support/server.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'dist/src/cli/import-users.js');
const EXPORT_CLI = join(ROOT, 'dist/src/cli/export-users.js');
const ADMIN_EMAIL = 'import-admin@example.com';
const ADMIN_PASSWORD = 'import admin passphrase 8812';

interface Vector {
  format: string;
  password: string;
  hash: string;
}
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/legacy-hashes.json', import.meta.url), 'utf8'),
) as { flaskSecuritySalt: string; vectors: Vector[] };
const vector = (format: string) => fixture.vectors.find((v) => v.format === format)!;

let server: TestServer;
let adminToken: string;
const dir = mkdtempSync(join(tmpdir(), 'authkit-import-'));
let fileCounter = 0;

beforeAll(async () => {
  server = await startServer({
    env: {
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
      FLASK_SECURITY_PASSWORD_SALT: fixture.flaskSecuritySalt,
    },
  });
  const res = await server.api.post('/api/auth/login', {
    email: ADMIN_EMAIL,
    password: ADMIN_PASSWORD,
  });
  expect(res.status).toBe(200);
  adminToken = res.body.access_token;
}, 120_000);

afterAll(cleanup);

function file(name: string, content: string): string {
  fileCounter += 1;
  const path = join(dir, `${fileCounter}-${name}`);
  writeFileSync(path, content);
  return path;
}

const ndjson = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

async function importUsers(
  args: string[],
  databaseUrl = server.db.url,
  cli = CLI,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], {
      env: childEnv({ DATABASE_URL: databaseUrl, DATA_DIR: makeDataDir(), NODE_ENV: 'test' }),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function userByEmail(email: string) {
  const [row] = await server.db.query<Record<string, any>>(
    'SELECT * FROM users WHERE lower(email) = $1',
    [email],
  );
  return row;
}

const count = async (sql: string) => Number((await server.db.query<{ n: string }>(sql))[0].n);
const snapshot = () =>
  server.db.query('SELECT * FROM users ORDER BY id').then((rows) => JSON.stringify(rows));

const login = (email: string, password: string) =>
  server.api.post('/api/auth/login', { email, password });

describe('import-users', () => {
  it('imports a mongoexport file: legacy hashes sign in, ObjectIds become externalId', async () => {
    const rows = [
      ['werkzeug-pbkdf2-sha256', '64b7f0c2a1b2c3d4e5f60001'],
      ['werkzeug-scrypt', '64b7f0c2a1b2c3d4e5f60002'],
      ['flask-bcrypt', '64b7f0c2a1b2c3d4e5f60003'],
      ['passlib-pbkdf2-sha512', '64b7f0c2a1b2c3d4e5f60004'],
      ['bcryptjs-2a', '64b7f0c2a1b2c3d4e5f60005'],
    ].map(([format, oid]) => ({
      _id: { $oid: oid },
      email: `  ${uniqueEmail(format).toUpperCase()} `,
      name: 'Ada King Lovelace',
      password: vector(format).hash,
      created_at: { $date: '2021-03-04T05:06:07.089Z' },
      last_login: { $date: { $numberLong: '1700000000000' } },
      fs_uniquifier: 'x',
      format,
    }));
    const path = file('mongo.json', JSON.stringify(rows, null, 2));
    const out = await importUsers([
      path,
      '--map',
      'name=split',
      '--map',
      'password=passwordHash',
      '--map',
      'last_login=lastLoginAt',
      '--map',
      'format=-',
    ]);
    expect(out.code, out.stdout + out.stderr).toBe(0);
    expect(out.stdout).toContain('5 rows read: 5 inserted');
    expect(out.stdout).toContain(
      'Fields ignored (not import fields; --map them to keep them): fs_uniquifier',
    );
    expect(out.stderr).toContain('100% 5 rows'); // plain progress lines when not a terminal

    for (const row of rows) {
      const email = row.email.trim().toLowerCase();
      const stored = await userByEmail(email);
      expect(stored).toMatchObject({
        external_id: row._id.$oid,
        first_name: 'Ada',
        last_name: 'King Lovelace',
        role: 'USER',
        active: true,
        email_verified: false,
      });
      expect(new Date(stored.created_at).toISOString()).toBe('2021-03-04T05:06:07.089Z');
      expect(new Date(stored.last_login_at).getTime()).toBe(1700000000000);
      expect(stored.password_hash).toBe(row.password);

      const password = vector(row.format).password;
      expectProblem(await login(email, `${password}x`), 401, 'INVALID_CREDENTIALS');
      const res = await login(email, password);
      expect(res.status, row.format).toBe(200);
      expect(res.body.user.externalId).toBe(row._id.$oid);
      expect((await userByEmail(email)).password_hash).toMatch(/^\$argon2id\$/);
      expect((await login(email, password)).status).toBe(200);
    }

    // The admin list finds a user by the id they had before, and shows it.
    const list = await server.api.get(`/api/users?search=${rows[2]._id.$oid}`, {
      token: adminToken,
    });
    expect(list.status).toBe(200);
    expect(list.body.items.map((u: any) => u.externalId)).toEqual([rows[2]._id.$oid]);
  });

  it('--flask-security tags bcrypt hashes; they sign in with SECURITY_PASSWORD_SALT', async () => {
    const v = vector('flask-security');
    const email = uniqueEmail('fs');
    const path = file('fs.csv', `id,email,password,active,confirmed\n42,${email},${v.hash},1,\n`);
    const out = await importUsers([path, '--flask-security', '--map', 'password=passwordHash']);
    expect(out.code, out.stdout).toBe(0);
    const stored = await userByEmail(email);
    expect(stored).toMatchObject({ external_id: '42', password_hash: `flask-security:${v.hash}` });
    expect((await login(email, v.password)).status).toBe(200);
    expect((await userByEmail(email)).password_hash).toMatch(/^\$argon2id\$/);
  });

  it('reads CSV with quoted cells, keeps UUID ids, and reports a bad row by its line', async () => {
    const id = '0b8f3c1e-8a44-4f6e-9f7a-3d2b1c0a9e8d';
    const email = uniqueEmail('csv');
    const v = vector('django-pbkdf2-sha256');
    const path = file(
      'users.csv',
      [
        'id,email,firstName,lastName,role,emailVerified,passwordHash',
        `${id},${email},"Smith, Jr.","O""Brien",user,true,${v.hash}`,
        `,not-an-email,,,,,${v.hash}`,
        '',
      ].join('\r\n'),
    );
    const out = await importUsers([path, '--batch', '1']);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('line 3: error: email: email must be an email');
    const stored = await userByEmail(email);
    expect(stored).toMatchObject({
      id,
      external_id: null,
      first_name: 'Smith, Jr.',
      last_name: 'O"Brien',
      email_verified: true,
    });
    expect((await login(email, v.password)).status).toBe(200);
  });

  it('--dry-run checks every row and writes nothing', async () => {
    const before = await snapshot();
    const audits = await count('SELECT count(*) AS n FROM audit_events');
    const rows = [
      { email: uniqueEmail('dry'), passwordHash: vector('bcrypt-2b').hash },
      { email: 'broken', passwordHash: vector('bcrypt-2b').hash },
      { email: uniqueEmail('dry'), passwordHash: vector('bcrypt-2b').hash },
    ];
    const out = await importUsers([file('dry.ndjson', ndjson(rows)), '--dry-run', '--batch', '1']);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('Dry run (nothing written): 3 rows read: 2 would be inserted');
    expect(out.stdout).toContain('line 2: error: email');
    expect(await snapshot()).toBe(before);
    expect(await count('SELECT count(*) AS n FROM audit_events')).toBe(audits);
  });

  it('a bad row fails only its batch; a re-run with skip changes nothing', async () => {
    const hash = vector('passlib-pbkdf2-sha256').hash;
    const emails = Array.from({ length: 6 }, () => uniqueEmail('batch'));
    const rows = emails.map((email, i) =>
      i === 3
        ? { email, passwordHash: 'md5:5f4dcc3b5aa765d61d8327deb882cf99' }
        : { email, passwordHash: hash },
    );
    const path = file('batches.ndjson', ndjson(rows));
    const out = await importUsers([path, '--batch', '2']);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('line 4: error: passwordHash');
    expect(out.stdout).toContain('Batches not written: lines 3-4.');
    expect(out.stdout).toContain('4 inserted');
    const present = await Promise.all(
      emails.map(async (e) => (await userByEmail(e)) !== undefined),
    );
    expect(present).toEqual([true, true, false, false, true, true]);
    const audits = await server.db.query<{ metadata: any }>(
      `SELECT metadata FROM audit_events WHERE type = 'user.imported' AND metadata->>'firstLine' IN ('1', '5')
        ORDER BY created_at DESC LIMIT 2`,
    );
    expect(audits.map((a) => a.metadata.inserted)).toEqual([2, 2]);

    // Fixed, and run again with skip: the two missing rows come in, the rest are left alone.
    rows[3] = { email: emails[3], passwordHash: hash };
    const fixed = file('batches-fixed.ndjson', ndjson(rows));
    const second = await importUsers([fixed, '--on-conflict', 'skip', '--batch', '2']);
    expect(second.stdout).toContain('6 rows read: 2 inserted, 0 updated, 4 skipped');
    const after = await snapshot();
    const third = await importUsers([fixed, '--on-conflict', 'skip', '--batch', '2']);
    expect(third.code).toBe(0);
    expect(third.stdout).toContain('6 rows read: 0 inserted, 0 updated, 6 skipped');
    expect(await snapshot()).toBe(after);

    // The default (fail) refuses the existing rows instead.
    const failing = await importUsers([fixed]);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/line 1: error: already exists: same email of user/);
  });

  it('duplicates by normalized email within the file are refused, naming the first line', async () => {
    const email = uniqueEmail('dup');
    const hash = vector('bcrypt-2b').hash;
    const path = file(
      'dup.ndjson',
      ndjson([
        { email, passwordHash: hash },
        { email: ` ${email.toUpperCase()}`, passwordHash: hash },
      ]),
    );
    const out = await importUsers([path, '--batch', '1']);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('line 2: error: email: email is the same as on line 1');
    expect(await count(`SELECT count(*) AS n FROM users WHERE lower(email) = '${email}'`)).toBe(1);
  });

  it('an unknown hash is a row error; --allow-no-password imports the user password-less', async () => {
    const email = uniqueEmail('nopw');
    const path = file(
      'nopw.ndjson',
      ndjson([{ email, passwordHash: 'sha1$abc$def' }, { email: uniqueEmail('nopw') }]),
    );
    const refused = await importUsers([path]);
    expect(refused.code).toBe(1);
    expect(await userByEmail(email)).toBeUndefined();
    const allowed = await importUsers([path, '--allow-no-password']);
    expect(allowed.code, allowed.stdout).toBe(0);
    expect(allowed.stdout).toContain('line 1: warning: passwordHash');
    expect((await userByEmail(email)).password_hash).toBe('!');
    expectProblem(await login(email, '!'), 401, 'INVALID_CREDENTIALS');
  });

  it('--on-conflict update changes the given fields, and never removes the last admin', async () => {
    const email = uniqueEmail('upd');
    const v = vector('bcrypt-2b');
    await importUsers([
      file('u1.ndjson', ndjson([{ id: 7, email, passwordHash: v.hash, firstName: 'Old' }])),
    ]);
    const out = await importUsers([
      file('u2.ndjson', ndjson([{ id: 7, email, lastName: 'New' }])),
      '--on-conflict',
      'update',
      '--allow-no-password',
    ]);
    expect(out.stdout).toContain('1 updated');
    // Matched by externalId; the missing hash is not "no password" for an existing user.
    expect(await userByEmail(email)).toMatchObject({ first_name: 'Old', last_name: 'New' });

    const demote = await importUsers([
      file('admin.ndjson', ndjson([{ email: ADMIN_EMAIL, role: 'USER' }])),
      '--on-conflict',
      'update',
      '--allow-no-password',
    ]);
    expect(demote.code, demote.stderr).toBe(1);
    expect(demote.stdout).toContain('LAST_ADMIN');
    expect((await userByEmail(ADMIN_EMAIL)).role).toBe('ADMIN');
  });

  it('queues no email, unless --send-verification', async () => {
    const hash = vector('bcrypt-2b').hash;
    const queued = () => count('SELECT count(*) AS n FROM mail_outbox');
    const before = await queued();
    await importUsers([
      file('m1.ndjson', ndjson([{ email: uniqueEmail('mail'), passwordHash: hash }])),
    ]);
    expect(await queued()).toBe(before);
    const email = uniqueEmail('mail');
    const out = await importUsers([
      file(
        'm2.ndjson',
        ndjson([
          { email, passwordHash: hash },
          { email: uniqueEmail('mail'), passwordHash: hash, emailVerified: true },
        ]),
      ),
      '--send-verification',
    ]);
    expect(out.code, out.stdout).toBe(0);
    expect(await queued()).toBe(before + 1);
    expect(await count(`SELECT count(*) AS n FROM mail_outbox WHERE recipient = '${email}'`)).toBe(
      1,
    );
  });

  it('export → import into an empty database gives identical users, hashes only on request', async () => {
    // Users of every kind by now: registered, imported, upgraded at login, password-less, admin.
    await register(server.api, {
      username: uniqueUsername(),
      firstName: 'Émile',
      lastName: 'Zola',
    });
    const users = (
      await server.db.query<{ u: string }>(
        'SELECT row_to_json(u)::text AS u FROM users u ORDER BY id',
      )
    ).map((r) => r.u);
    expect(users.length).toBeGreaterThan(1);

    const withHashes = join(dir, 'export-with-hashes.ndjson');
    const exported = await importUsers([withHashes, '--with-hashes'], server.db.url, EXPORT_CLI);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toContain(`Exported ${users.length} users with their password hashes`);
    const lines = readFileSync(withHashes, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(users.length);
    expect(Object.keys(JSON.parse(lines[0])).sort()).toEqual(
      [
        'id',
        'externalId',
        'email',
        'username',
        'firstName',
        'lastName',
        'role',
        'active',
        'emailVerified',
        'createdAt',
        'updatedAt',
        'lastLoginAt',
        'passwordHash',
      ].sort(),
    );

    const empty = await createTestDatabase();
    try {
      const imported = await importUsers([withHashes], empty.url);
      expect(imported.code, imported.stdout + imported.stderr).toBe(0);
      expect(imported.stdout).toContain(`${users.length} rows read: ${users.length} inserted`);
      const copied = (
        await empty.query<{ u: string }>(
          'SELECT row_to_json(u)::text AS u FROM users u ORDER BY id',
        )
      ).map((r) => r.u);
      expect(copied).toEqual(users);
    } finally {
      await empty.drop();
    }

    const withoutHashes = join(dir, 'export.ndjson');
    expect((await importUsers([withoutHashes], server.db.url, EXPORT_CLI)).code).toBe(0);
    const plain = readFileSync(withoutHashes, 'utf8');
    expect(plain).not.toMatch(/"passwordHash"|\$argon2|\$2[aby]\$|pbkdf2:sha/);
  }, 90_000); // two CLI runs, a fresh database and its migrations: ~10 s idle, 30 s under CI load

  it('refuses bad invocations with exit code 2', async () => {
    expect((await importUsers([])).code).toBe(2);
    expect((await importUsers([file('x.txt', '')])).code).toBe(2);
    expect((await importUsers([file('x.ndjson', ''), '--map', 'a=nonsense'])).code).toBe(2);
    expect((await importUsers([file('x.ndjson', ''), '--on-conflict', 'merge'])).code).toBe(2);
  });
});

describe('POST /api/users/import', () => {
  const importApi = (rawBody: string, contentType: string, query = '', token = adminToken) =>
    server.api.request('POST', `/api/users/import${query}`, { rawBody, contentType, token });

  it('imports NDJSON (streamed) with a per-row report; the users sign in with their old passwords', async () => {
    const v = vector('werkzeug-pbkdf2-sha1');
    const email = uniqueEmail('api');
    const body = ndjson([
      { _id: { $oid: '65a000000000000000000001' }, email, passwordHash: v.hash },
      { email: 'nope', passwordHash: v.hash },
    ]);
    const res = await importApi(body, 'application/x-ndjson');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ rows: 2, inserted: 0, errors: 1, notWritten: 1 });
    expect(res.body.results).toEqual([
      expect.objectContaining({ line: 1, outcome: 'not written' }),
      expect.objectContaining({ line: 2, outcome: 'error', field: 'email' }),
    ]);
    const fixed = await importApi(
      ndjson([{ _id: { $oid: '65a000000000000000000001' }, email, passwordHash: v.hash }]),
      'application/x-ndjson',
    );
    expect(fixed.body).toMatchObject({ rows: 1, inserted: 1, errors: 0 });
    const userId = fixed.body.results[0].userId;
    const login = await server.api.post('/api/auth/login', { email, password: v.password });
    expect(login.status).toBe(200);
    expect(login.body.user).toMatchObject({ id: userId, externalId: '65a000000000000000000001' });
    const [event] = await server.db.query<{ actor_id: string; metadata: any }>(
      `SELECT actor_id, metadata FROM audit_events WHERE type = 'user.imported' ORDER BY created_at DESC LIMIT 1`,
    );
    expect(event.metadata).toMatchObject({ source: 'api', inserted: 1 });
  });

  it('imports a JSON array; dryRun writes nothing; onConflict=skip is idempotent', async () => {
    const email = uniqueEmail('apijson');
    const body = JSON.stringify([
      { id: 'legacy-9', email, passwordHash: vector('bcrypt-2y').hash },
    ]);
    const dry = await importApi(body, 'application/json', '?dryRun=true');
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, inserted: 1 });
    expect(await userByEmail(email)).toBeUndefined();
    expect((await importApi(body, 'application/json')).body).toMatchObject({ inserted: 1 });
    const again = await importApi(body, 'application/json', '?onConflict=skip');
    expect(again.body).toMatchObject({ inserted: 0, skipped: 1 });
    expect((await userByEmail(email)).external_id).toBe('legacy-9');
  });

  it('is for admins only: 401 without a token, 403 for a user', async () => {
    const body = ndjson([{ email: uniqueEmail('x'), passwordHash: vector('bcrypt-2b').hash }]);
    expectProblem(
      await server.api.request('POST', '/api/users/import', {
        rawBody: body,
        contentType: 'application/x-ndjson',
      }),
      401,
      'UNAUTHORIZED',
    );
    const user = await registerAndLogin(server.api);
    expectProblem(
      await importApi(body, 'application/x-ndjson', '', user.accessToken),
      403,
      'FORBIDDEN',
    );
  });

  it('refuses bad bodies and options with 4xx, never 500', async () => {
    expectProblem(await importApi('{"email": 1}', 'application/json'), 400, 'VALIDATION_FAILED');
    expectProblem(
      await importApi('[]', 'application/json', '?onConflict=merge'),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(await importApi('email\n', 'text/csv'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectProblem(
      await server.api.request('POST', '/api/auth/login', {
        rawBody: '{}',
        contentType: 'application/x-ndjson',
      }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    const bad = await importApi('{"email": "a@example.com"\nnot json\n', 'application/x-ndjson');
    expect(bad.status).toBe(200);
    expect(bad.body.results[0]).toMatchObject({
      line: 1,
      outcome: 'error',
      message: 'not valid JSON',
    });
    const line = `${JSON.stringify({ email: 'big@example.com', firstName: 'x'.repeat(1000) })}\n`;
    const huge = await importApi(
      line.repeat(Math.ceil((17 * 1024 * 1024) / line.length)),
      'application/x-ndjson',
      '?dryRun=true',
    );
    expectProblem(huge, 413, 'PAYLOAD_TOO_LARGE');
  });
});

// Issue 17 point 2: a user whose stored hash was written by another backend (Werkzeug,
// passlib, bcrypt, Flask-Bcrypt, Flask-Security, bcryptjs, Django, argon2) signs in with
// the password they already have; that login replaces the hash with argon2id (in the
// statement that records it), after which the same password still works and a wrong one
// gets the same answer as a wrong password or an unknown user always did.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueEmail } from './support/fixtures.js';
import { expectProblem } from './support/http.js';
import { cleanup, startServer, type TestServer } from './support/server.js';

interface Vector {
  format: string;
  library: string;
  password: string;
  hash: string;
}
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/legacy-hashes.json', import.meta.url), 'utf8'),
) as { flaskSecuritySalt: string; vectors: Vector[] };

let server: TestServer;

beforeAll(async () => {
  server = await startServer({
    env: { FLASK_SECURITY_PASSWORD_SALT: fixture.flaskSecuritySalt },
  });
}, 120_000);

afterAll(cleanup);

/** A user row as the import writes it (Flask-Security hashes behind their tag). */
async function insertUser(passwordHash: string): Promise<{ id: string; email: string }> {
  const email = uniqueEmail('legacy');
  const [row] = await server.db.query<{ id: string }>(
    `INSERT INTO users (email, password_hash, email_verified) VALUES ($1, $2, true) RETURNING id`,
    [email, passwordHash],
  );
  return { id: row.id, email };
}

async function storedHash(id: string): Promise<string> {
  const [row] = await server.db.query<{ password_hash: string }>(
    'SELECT password_hash FROM users WHERE id = $1',
    [id],
  );
  return row.password_hash;
}

const login = (email: string, password: string) =>
  server.api.post('/api/auth/login', { email, password });

/** The parts of a problem that must not tell one failure from another. */
const shape = (body: Record<string, unknown>) => ({
  status: body.status,
  code: body.code,
  title: body.title,
  detail: body.detail,
  type: body.type,
});

describe('legacy hashes at login', () => {
  it.each(fixture.vectors.map((v) => [v.format, v.library, v] as const))(
    '%s (%s): old password signs in, the hash becomes argon2id, wrong password refused',
    async (format, _library, v) => {
      const stored = format === 'flask-security' ? `flask-security:${v.hash}` : v.hash;
      const user = await insertUser(stored);

      const wrong = await login(user.email, `${v.password}x`);
      const unknown = await login(uniqueEmail('nobody'), v.password);
      expectProblem(wrong, 401, 'INVALID_CREDENTIALS');
      expectProblem(unknown, 401, 'INVALID_CREDENTIALS');
      expect(shape(wrong.body)).toEqual(shape(unknown.body));
      expect(await storedHash(user.id)).toBe(stored); // a failure rewrites nothing

      const first = await login(user.email, v.password);
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expect(first.body.user.id).toBe(user.id);
      const upgraded = await storedHash(user.id);
      expect(upgraded).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/); // the configured parameters

      const again = await login(user.email, v.password);
      expect(again.status).toBe(200);
      expect(await storedHash(user.id)).toBe(upgraded); // no second rehash
      const wrongAfter = await login(user.email, `${v.password}x`);
      expectProblem(wrongAfter, 401, 'INVALID_CREDENTIALS');
      expect(shape(wrongAfter.body)).toEqual(shape(unknown.body));
    },
  );

  it('the login that upgrades the hash is recorded once, with lastLoginAt', async () => {
    const v = fixture.vectors.find((x) => x.format === 'werkzeug-pbkdf2-sha256')!;
    const user = await insertUser(v.hash);
    const res = await login(user.email, v.password);
    expect(res.status).toBe(200);
    const [row] = await server.db.query<{ last_login_at: Date | null; logins: string }>(
      `SELECT u.last_login_at,
              (SELECT count(*) FROM audit_events a WHERE a.user_id = u.id AND a.type = 'user.login') AS logins
         FROM users u WHERE u.id = $1`,
      [user.id],
    );
    expect(row.last_login_at).not.toBeNull();
    expect(Number(row.logins)).toBe(1);
  });

  it('a password-less user ("!") and an unknown hash format never sign in, with the usual answer', async () => {
    const unknown = await login(uniqueEmail('nobody'), 'correct horse battery staple');
    for (const hash of ['!', '5f4dcc3b5aa765d61d8327deb882cf99', 'md5$abc$def']) {
      const user = await insertUser(hash);
      for (const password of ['!', '', 'correct horse battery staple', 'password']) {
        const res = await login(user.email, password);
        expectProblem(res, 401, 'INVALID_CREDENTIALS');
        expect(shape(res.body)).toEqual(shape(unknown.body));
      }
      expect(await storedHash(user.id)).toBe(hash);
    }
  });

  it('a Flask-Security hash does not match without the configured salt', async () => {
    const other = await startServer({ env: { FLASK_SECURITY_PASSWORD_SALT: undefined } });
    const v = fixture.vectors.find((x) => x.format === 'flask-security')!;
    const email = uniqueEmail('fs');
    await other.db.query(
      `INSERT INTO users (email, password_hash, email_verified) VALUES ($1, $2, true)`,
      [email, `flask-security:${v.hash}`],
    );
    const res = await other.api.post('/api/auth/login', { email, password: v.password });
    expectProblem(res, 401, 'INVALID_CREDENTIALS');
    await other.stop();
  }, 120_000);

  it('change-password accepts a legacy current password and stores argon2id', async () => {
    const v = fixture.vectors.find((x) => x.format === 'bcrypt-2b')!;
    const user = await insertUser(v.hash);
    const res = await login(user.email, v.password);
    const newPassword = 'a brand new passphrase 9931';
    const changed = await server.api.post(
      '/api/auth/change-password',
      { currentPassword: v.password, newPassword },
      { token: res.body.access_token },
    );
    expect(changed.status).toBe(204);
    expect(await storedHash(user.id)).toMatch(/^\$argon2id\$/);
    expect((await login(user.email, newPassword)).status).toBe(200);
  });
});

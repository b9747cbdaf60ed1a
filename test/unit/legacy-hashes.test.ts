// Unit tests: every legacy hash format against vectors made by the real libraries
// (test/fixtures/legacy-hashes.json, written once by scripts/legacy-hash-vectors.py).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FLASK_SECURITY_PREFIX,
  NO_PASSWORD,
  hashScheme,
  verifyAnyHash,
} from '../../src/users/legacy-hashes.js';

interface Vector {
  format: string;
  library: string;
  password: string;
  hash: string;
}
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/legacy-hashes.json', import.meta.url), 'utf8'),
) as { flaskSecuritySalt: string; vectors: Vector[] };
const secrets = { flaskSecuritySalt: fixture.flaskSecuritySalt };

/** What the import stores for a vector (Flask-Security hashes are tagged). */
const stored = (v: Vector): string =>
  v.format === 'flask-security' ? FLASK_SECURITY_PREFIX + v.hash : v.hash;

const FORMATS = [
  'werkzeug-pbkdf2-sha256',
  'werkzeug-pbkdf2-sha1',
  'werkzeug-pbkdf2-sha512',
  'werkzeug-scrypt',
  'passlib-pbkdf2-sha256',
  'passlib-pbkdf2-sha512',
  'passlib-pbkdf2-sha1',
  'passlib-bcrypt-sha256',
  'passlib-scrypt',
  'django-pbkdf2-sha256',
  'bcrypt-2a',
  'bcrypt-2b',
  'bcrypt-2y',
  'flask-bcrypt',
  'flask-security',
  'bcryptjs-2a',
  'bcryptjs-2b',
  'argon2id',
  'argon2i',
];

describe('legacy hash vectors', () => {
  it('cover every format the issue lists', () => {
    expect(new Set(fixture.vectors.map((v) => v.format))).toEqual(new Set(FORMATS));
  });

  it.each(fixture.vectors.map((v) => [v.format, v.library, v] as const))(
    '%s (%s) verifies the right password and no other',
    async (_format, _library, v) => {
      expect(hashScheme(stored(v))).toBeDefined();
      expect(await verifyAnyHash(stored(v), v.password, secrets)).toBe(true);
      expect(await verifyAnyHash(stored(v), `${v.password}x`, secrets)).toBe(false);
      expect(await verifyAnyHash(stored(v), v.password.slice(0, -1), secrets)).toBe(false);
      expect(await verifyAnyHash(stored(v), '', secrets)).toBe(false);
    },
  );

  it('a Flask-Security hash needs the right salt, and is not a plain bcrypt of the password', async () => {
    const v = fixture.vectors.find((x) => x.format === 'flask-security')!;
    expect(await verifyAnyHash(stored(v), v.password, {})).toBe(false);
    expect(await verifyAnyHash(stored(v), v.password, { flaskSecuritySalt: 'other' })).toBe(false);
    expect(await verifyAnyHash(v.hash, v.password, secrets)).toBe(false);
  });

  it('one changed character of the checksum makes a hash fail', async () => {
    for (const v of fixture.vectors) {
      const h = stored(v);
      const last = h.at(-2)!;
      const changed = h.slice(0, -2) + (last === 'a' ? 'b' : 'a') + h.at(-1)!;
      expect(await verifyAnyHash(changed, v.password, secrets), v.format).toBe(false);
    }
  });
});

describe('unknown, malformed and abusive hashes', () => {
  it.each([
    ['the password-less marker', NO_PASSWORD],
    ['empty', ''],
    ['plain text', 'correct horse battery staple'],
    ['md5 hex', '5f4dcc3b5aa765d61d8327deb882cf99'],
    ['werkzeug without iterations', 'pbkdf2:sha256$abc$' + 'ab'.repeat(32)],
    ['werkzeug md5', 'pbkdf2:md5:1000$abc$' + 'ab'.repeat(16)],
    ['werkzeug odd hex', 'pbkdf2:sha256:1000$abc$abc'],
    ['werkzeug with a billion iterations', 'pbkdf2:sha256:1000000000$abc$' + 'ab'.repeat(32)],
    ['scrypt with n not a power of two', 'scrypt:1000:8:1$abc$' + 'ab'.repeat(64)],
    ['scrypt using 4 GiB', 'scrypt:4194304:8:1$abc$' + 'ab'.repeat(64)],
    ['bcrypt too short', '$2b$10$abc'],
    ['bcrypt with cost 99', '$2b$99$' + 'a'.repeat(53)],
    ['$2x$ (the buggy crypt_blowfish variant)', '$2x$10$' + 'a'.repeat(53)],
    ['passlib pbkdf2 with a short checksum', '$pbkdf2-sha256$29000$abcd$abcd'],
    [
      'flask-security around a non-bcrypt',
      FLASK_SECURITY_PREFIX + 'pbkdf2:sha256:1000$a$' + 'ab'.repeat(32),
    ],
    ['argon2 missing its hash', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ'],
    ['an enormous string', 'x'.repeat(5000)],
  ])('%s is refused', async (_what, hash) => {
    expect(hashScheme(hash)).toBeUndefined();
    expect(await verifyAnyHash(hash, 'correct horse battery staple', secrets)).toBe(false);
  });
});

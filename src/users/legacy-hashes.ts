import {
  createHash,
  createHmac,
  pbkdf2,
  scrypt,
  timingSafeEqual,
  type BinaryLike,
} from 'node:crypto';
import { promisify } from 'node:util';
import argon2 from 'argon2';
import bcrypt from 'bcryptjs';

/**
 * Password hashes written by other backends, verified as they are stored (docs/migration.md):
 * a user imported with one signs in with the password they already have, and the login
 * replaces it with argon2id in the statement that records it (`login.repository.ts`).
 *
 * One parser per format, each checking the whole string and bounding its cost parameters
 * (a hash is data from an import file: a `pbkdf2:sha256:999999999$…` must not cost an hour),
 * so that the import can refuse an unknown or malformed hash as a row error instead of
 * importing an account nobody can sign in to. Derived keys are compared in constant time;
 * bcrypt's comparison is bcryptjs' own (constant time as well).
 */

/** The stored hash of a user without a password (an import with `--allow-no-password`). */
export const NO_PASSWORD = '!';

/** What a Flask-Security hash is stored as: its bcrypt hash behind this tag. */
export const FLASK_SECURITY_PREFIX = 'flask-security:';

export type LegacyScheme =
  | 'argon2'
  | 'werkzeug-pbkdf2'
  | 'werkzeug-scrypt'
  | 'passlib-pbkdf2'
  | 'passlib-scrypt'
  | 'passlib-bcrypt-sha256'
  | 'bcrypt'
  | 'flask-security'
  | 'django-pbkdf2';

/** Secrets some formats need, from the configuration (never from the rows). */
export interface LegacySecrets {
  /** Flask-Security's `SECURITY_PASSWORD_SALT`. */
  flaskSecuritySalt?: string | undefined;
}

interface Parsed {
  scheme: LegacyScheme;
  verify(password: string, secrets: LegacySecrets): Promise<boolean>;
}

/** Bounds on cost parameters: far above any real deployment, far below a denial of service. */
const MAX_PBKDF2_ITERATIONS = 10_000_000;
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024; // 128 · N · r · p bytes
const MAX_SCRYPT_P = 64;
/** Longest hash string accepted at all (bcrypt_sha256 and PHC strings are ~100 characters). */
export const MAX_HASH_LENGTH = 1024;

const pbkdf2Async = promisify(pbkdf2);
const scryptAsync = promisify(scrypt) as (
  password: BinaryLike,
  salt: BinaryLike,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

const DIGESTS: Record<string, { name: string; bytes: number }> = {
  sha1: { name: 'sha1', bytes: 20 },
  sha256: { name: 'sha256', bytes: 32 },
  sha512: { name: 'sha512', bytes: 64 },
};

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function pbkdf2Verifier(
  scheme: LegacyScheme,
  iterations: number,
  salt: Buffer,
  digest: string,
  expected: Buffer,
): Parsed | undefined {
  if (!(iterations >= 1 && iterations <= MAX_PBKDF2_ITERATIONS)) return undefined;
  if (expected.length < 16 || expected.length > 128) return undefined;
  return {
    scheme,
    verify: async (password) =>
      sameBytes(await pbkdf2Async(password, salt, iterations, expected.length, digest), expected),
  };
}

function scryptVerifier(
  scheme: LegacyScheme,
  n: number,
  r: number,
  p: number,
  salt: Buffer,
  expected: Buffer,
): Parsed | undefined {
  const powerOfTwo = n >= 2 && (n & (n - 1)) === 0;
  if (!powerOfTwo || r < 1 || p < 1 || p > MAX_SCRYPT_P) return undefined;
  const memory = 128 * n * r * p;
  if (memory > MAX_SCRYPT_MEMORY || expected.length < 16 || expected.length > 128) {
    return undefined;
  }
  return {
    scheme,
    verify: async (password) =>
      sameBytes(
        await scryptAsync(password, salt, expected.length, { N: n, r, p, maxmem: memory * 2 }),
        expected,
      ),
  };
}

const HEX = /^(?:[0-9a-f]{2})+$/;
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;

/** passlib's "adapted base64": `.` for `+`, no padding. */
function ab64(text: string): Buffer | undefined {
  if (!/^[./A-Za-z0-9]*$/.test(text) || text.length % 4 === 1) return undefined;
  return Buffer.from(text.replaceAll('.', '+'), 'base64');
}

/** Standard base64 without padding (passlib's scrypt). */
function b64(text: string): Buffer | undefined {
  if (!/^[+/A-Za-z0-9]*={0,2}$/.test(text) || text.replace(/=+$/, '').length % 4 === 1) {
    return undefined;
  }
  return Buffer.from(text, 'base64');
}

const integer = (text: string): number => (/^[0-9]{1,10}$/.test(text) ? Number(text) : NaN);

function bcryptVerifier(scheme: LegacyScheme, hash: string, key: (password: string) => string) {
  return {
    scheme,
    verify: (password: string) => bcrypt.compare(key(password), hash),
  } satisfies Parsed;
}

const PARSERS: ((hash: string) => Parsed | undefined)[] = [
  // PHC argon2 ($argon2id$, $argon2i$, $argon2d$): what we write, and what argon2 packages write.
  (hash) => {
    const m =
      /^\$argon2(?:id|i|d)\$(?:v=\d+\$)?([a-z]=\d+(?:,[a-z]=\d+)*)\$[+/A-Za-z0-9]+\$[+/A-Za-z0-9]+$/.exec(
        hash,
      );
    if (!m) return undefined;
    const params: Record<string, string> = Object.fromEntries(
      m[1].split(',').map((kv) => kv.split('=') as [string, string]),
    );
    const [memory, time, lanes] = [params.m, params.t, params.p].map(Number);
    if (!(memory <= 4_194_304 && time <= 100 && lanes <= 64)) return undefined;
    return {
      scheme: 'argon2',
      verify: async (password) => {
        try {
          return await argon2.verify(hash, password);
        } catch {
          return false;
        }
      },
    };
  },
  // Werkzeug: pbkdf2:sha256:600000$salt$hex (the salt is used as its UTF-8 text).
  (hash) => {
    const m = /^pbkdf2:(sha1|sha256|sha512):([0-9]+)\$([^$]{1,255})\$([0-9a-f]+)$/.exec(hash);
    if (!m || !HEX.test(m[4])) return undefined;
    const digest = DIGESTS[m[1]];
    return pbkdf2Verifier(
      'werkzeug-pbkdf2',
      integer(m[2]),
      Buffer.from(m[3], 'utf8'),
      digest.name,
      Buffer.from(m[4], 'hex'),
    );
  },
  // Werkzeug ≥ 3: scrypt:32768:8:1$salt$hex.
  (hash) => {
    const m = /^scrypt:([0-9]+):([0-9]+):([0-9]+)\$([^$]{1,255})\$([0-9a-f]+)$/.exec(hash);
    if (!m || !HEX.test(m[5])) return undefined;
    return scryptVerifier(
      'werkzeug-scrypt',
      integer(m[1]),
      integer(m[2]),
      integer(m[3]),
      Buffer.from(m[4], 'utf8'),
      Buffer.from(m[5], 'hex'),
    );
  },
  // passlib: $pbkdf2-sha256$29000$salt$checksum, $pbkdf2-sha512$…, $pbkdf2$… (sha1).
  (hash) => {
    const m = /^\$pbkdf2(-sha256|-sha512)?\$([0-9]+)\$([./A-Za-z0-9]*)\$([./A-Za-z0-9]+)$/.exec(
      hash,
    );
    if (!m) return undefined;
    const digest = DIGESTS[m[1] ? m[1].slice(1) : 'sha1'];
    const salt = ab64(m[3]);
    const expected = ab64(m[4]);
    if (!salt || !expected || expected.length !== digest.bytes) return undefined;
    return pbkdf2Verifier('passlib-pbkdf2', integer(m[2]), salt, digest.name, expected);
  },
  // passlib (and PHC): $scrypt$ln=16,r=8,p=1$salt$checksum.
  (hash) => {
    const m = /^\$scrypt\$ln=([0-9]{1,2}),r=([0-9]+),p=([0-9]+)\$([^$]*)\$([^$]+)$/.exec(hash);
    if (!m) return undefined;
    const salt = b64(m[4]);
    const expected = b64(m[5]);
    if (!salt || !expected) return undefined;
    return scryptVerifier(
      'passlib-scrypt',
      2 ** integer(m[1]),
      integer(m[2]),
      integer(m[3]),
      salt,
      expected,
    );
  },
  // passlib bcrypt_sha256, v2: $bcrypt-sha256$v=2,t=2b,r=12$salt22$checksum31: bcrypt of the
  // base64 HMAC-SHA256 of the password keyed by the salt text; v1: $bcrypt-sha256$2a,12$…:
  // bcrypt of the base64 SHA-256 of the password.
  (hash) => {
    const v2 =
      /^\$bcrypt-sha256\$v=2,t=(2a|2b),r=([0-9]{2})\$([./A-Za-z0-9]{22})\$([./A-Za-z0-9]{31})$/.exec(
        hash,
      );
    const v1 =
      /^\$bcrypt-sha256\$(2a|2b),([0-9]{2})\$([./A-Za-z0-9]{22})\$([./A-Za-z0-9]{31})$/.exec(hash);
    const m = v2 ?? v1;
    if (!m) return undefined;
    const inner = `$${m[1]}$${m[2]}$${m[3]}${m[4]}`;
    if (!BCRYPT.test(inner)) return undefined;
    const salt = m[3];
    return bcryptVerifier('passlib-bcrypt-sha256', inner, (password) =>
      v2
        ? createHmac('sha256', salt).update(password, 'utf8').digest('base64')
        : createHash('sha256').update(password, 'utf8').digest('base64'),
    );
  },
  // bcrypt: $2a$, $2b$, $2y$ (Flask-Bcrypt, bcrypt, bcryptjs, PHP).
  (hash) =>
    BCRYPT.test(hash) ? bcryptVerifier('bcrypt', hash, (password) => password) : undefined,
  // Flask-Security: bcrypt of the base64 HMAC-SHA512 of the password keyed by
  // SECURITY_PASSWORD_SALT, stored behind `flask-security:` by the import.
  (hash) => {
    if (!hash.startsWith(FLASK_SECURITY_PREFIX)) return undefined;
    const inner = hash.slice(FLASK_SECURITY_PREFIX.length);
    if (!BCRYPT.test(inner)) return undefined;
    return {
      scheme: 'flask-security',
      verify: async (password, secrets) => {
        const salt = secrets.flaskSecuritySalt;
        if (!salt) return false; // without the secret no password can match
        const key = createHmac('sha512', salt).update(password, 'utf8').digest('base64');
        return bcrypt.compare(key, inner);
      },
    };
  },
  // Django: pbkdf2_sha256$870000$salt$base64 (and the older pbkdf2_sha1).
  (hash) => {
    const m = /^pbkdf2_(sha256|sha1)\$([0-9]+)\$([^$]{1,255})\$([+/A-Za-z0-9]+={0,2})$/.exec(hash);
    if (!m) return undefined;
    const digest = DIGESTS[m[1]];
    const expected = b64(m[4]);
    if (!expected || expected.length !== digest.bytes) return undefined;
    return pbkdf2Verifier(
      'django-pbkdf2',
      integer(m[2]),
      Buffer.from(m[3], 'utf8'),
      digest.name,
      expected,
    );
  },
];

function parse(hash: string): Parsed | undefined {
  if (hash.length > MAX_HASH_LENGTH) return undefined;
  for (const parser of PARSERS) {
    const parsed = parser(hash);
    if (parsed) return parsed;
  }
  return undefined;
}

/** The format of a stored hash, or `undefined` when it is unknown or malformed. */
export function hashScheme(hash: string): LegacyScheme | undefined {
  return parse(hash)?.scheme;
}

/**
 * Verifies `password` against a stored hash of any accepted format. An unknown or
 * malformed hash, and the password-less `!`, never match.
 */
export async function verifyAnyHash(
  hash: string,
  password: string,
  secrets: LegacySecrets,
): Promise<boolean> {
  const parsed = parse(hash);
  if (!parsed) return false;
  try {
    return await parsed.verify(password, secrets);
  } catch {
    return false;
  }
}

// The one identifier normalizer (issue 13, items 1, 7 and 10): unit tests of the plain
// functions that the DTOs, the rate-limit account key, the login backoff key and the
// repositories all use, and of the password text forms.
import { describe, expect, it } from 'vitest';
import { identifierHmac } from '../src/audit/identifier-hmac.js';
import { accountOf } from '../src/rate-limit/account-of.js';
import {
  emailIdentifier,
  identifierKey,
  usernameIdentifier,
} from '../src/rate-limit/login-identifier.js';
import {
  acceptedEmail,
  acceptedUsername,
  emailProblem,
  normalizeEmail,
  normalizeUsername,
  usernameProblem,
} from '../src/common/identifiers.js';
import { hashedForm, policyForm } from '../src/users/password-text.js';

const EMAIL = 'zoé.ada@example.com';
const fullwidth = (text: string) =>
  text.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));

/** Spellings of EMAIL that are EMAIL: the API must treat them as one account. */
const SAME_EMAIL: [string, string][] = [
  ['as is', EMAIL],
  ['330 spaces of padding', `${' '.repeat(330)}${EMAIL}`],
  ['upper case', EMAIL.toUpperCase()],
  ['NFD', EMAIL.normalize('NFD')],
  ['NFD, upper case, padded', `  ${EMAIL.normalize('NFD').toUpperCase()}  `],
  ['fullwidth', fullwidth(EMAIL)],
  ['fullwidth @ and dot only', EMAIL.replace('@', '＠').replace('.com', '．com')],
  ['tabs around', `\t${EMAIL}\t`],
  ['NBSP around', `\u00a0${EMAIL}\u00a0`],
  ['CR/LF around', `\r\n${EMAIL}\r\n`],
  ['ideographic space and BOM around', `\u3000\ufeff${EMAIL}\u3000`],
];

/** Values that are no email at all: refused (400), so they name no account. */
const NOT_AN_EMAIL: [string, string][] = [
  ['a lone surrogate', 'a\ud800@example.com'],
  ['a lone low surrogate', 'a\udc00b@example.com'],
  ['CR/LF inside', 'ada\r\n@example.com'],
  ['a header injection', 'ada@example.com\r\nBcc: eve@example.com'],
  ['U+0001', 'ada\u0001@example.com'],
  ['DEL', 'ada\u007f@example.com'],
  ['a tab inside', 'ada\tx@example.com'],
  ['NBSP inside', 'ada\u00a0x@example.com'],
  ['a space inside', 'ada x@example.com'],
  ['zero-width space', 'ada\u200b@example.com'],
  ['zero-width joiner', 'ad\u200da@example.com'],
  ['word joiner', 'ada\u2060@example.com'],
  ['a bidi override', 'ada\u202e@example.com'],
  ['a bidi isolate', '\u2066ada@example.com'],
  ['soft hyphen', 'a\u00adda@example.com'],
  ['Hangul filler', 'ada\u3164@example.com'],
  ['a ligature', 'ﬁx@example.com'],
  ['a superscript', 'ada²@example.com'],
  ['a circled letter', 'ⓐda@example.com'],
  ['a quoted local part', '"ada"@example.com'],
  ['a display name', 'Ada <ada@example.com>'],
  ['a comment', 'ada(x)@example.com'],
  ['two addresses', 'ada@example.com,eve@example.com'],
  ['an IP literal', 'ada@[127.0.0.1]'],
  ['no domain', 'ada@'],
  ['256 characters', `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(59)}.com`],
  ['only spaces', '     '],
  ['empty', ''],
];

const EMAIL_ROUTES = [
  'register',
  'forgotPassword',
  'verifyOtp',
  'resendVerification',
  'login',
] as const;

describe('emails', () => {
  const expected = identifierKey(emailIdentifier(EMAIL));

  it.each(SAME_EMAIL)('%s: normalized to the one address', (_, input) => {
    expect(normalizeEmail(input)).toBe(EMAIL);
    expect(emailProblem(normalizeEmail(input))).toBeUndefined();
    expect(acceptedEmail(input)).toBe(EMAIL);
  });

  it.each(SAME_EMAIL)(
    "%s: every route's per-account key is the key of the normalized value",
    (_, input) => {
      for (const route of EMAIL_ROUTES) {
        const account = accountOf(route, { email: input, code: '123456', password: 'x' });
        expect(account && identifierKey(account), route).toBe(expected);
      }
      // The login backoff key of the value the DTO hands the service.
      expect(identifierKey(emailIdentifier(normalizeEmail(input)))).toBe(expected);
    },
  );

  it.each(NOT_AN_EMAIL)('%s: refused, and so named by no key', (_, input) => {
    expect(emailProblem(normalizeEmail(input))).toBeDefined();
    expect(acceptedEmail(input)).toBeUndefined();
    for (const route of EMAIL_ROUTES) expect(accountOf(route, { email: input })).toBeUndefined();
  });

  it('names no account for what is not a string (the DTO refuses it)', () => {
    for (const value of [null, 42, true, [EMAIL], { email: EMAIL }]) {
      for (const route of EMAIL_ROUTES) expect(accountOf(route, { email: value })).toBeUndefined();
    }
  });

  it('is idempotent, and keeps what the address is made of', () => {
    for (const [, input] of SAME_EMAIL) {
      expect(normalizeEmail(normalizeEmail(input))).toBe(normalizeEmail(input));
    }
    expect(normalizeEmail('İx@example.com')).toBe('i̇x@example.com'.normalize('NFC'));
    expect(acceptedEmail('ada+tag@münchen.example')).toBe('ada+tag@münchen.example');
  });

  it('reads 254 characters as an email and 255 as too long, after normalization', () => {
    const at254 = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`;
    expect(at254).toHaveLength(254);
    expect(acceptedEmail(`${' '.repeat(500)}${at254}`)).toBe(at254);
    expect(emailProblem(`${at254}x`)).toMatch(/254/);
  });
});

describe('usernames', () => {
  const SAME: [string, string][] = [
    ['as is', 'ada_l'],
    ['upper case', 'ADA_L'],
    ['padded', `${' '.repeat(400)}ada_l\t`],
    ['fullwidth', fullwidth('ADA_L')],
    ['NBSP around', '\u00a0ada_l\u00a0'],
  ];
  const expected = identifierKey(usernameIdentifier('ada_l'));

  it.each(SAME)('%s: the one username, with the same login key', (_, input) => {
    expect(normalizeUsername(input)).toBe('ada_l');
    expect(usernameProblem(normalizeUsername(input))).toBeUndefined();
    const account = accountOf('login', { username: input, password: 'x' });
    expect(account && identifierKey(account)).toBe(expected);
  });

  it.each([
    ['a zero-width space', 'ada\u200b'],
    ['a tab inside', 'ad\ta'],
    ['a lone surrogate', 'ada\ud800'],
    ['a bidi override', '\u202eada'],
    ['too short', 'ab'],
    ['too long', 'a'.repeat(33)],
    ['another script', 'аda'], // Cyrillic а
  ])('%s: refused', (_, input) => {
    expect(acceptedUsername(input)).toBeUndefined();
    expect(accountOf('login', { username: input })).toBeUndefined();
  });

  it('keys a login that sends both or neither by its email, or by nothing', () => {
    const both = accountOf('login', { email: EMAIL, username: 'ada_l' });
    expect(both && identifierKey(both)).toBe(identifierKey(emailIdentifier(EMAIL)));
    expect(accountOf('login', { password: 'x' })).toBeUndefined();
    expect(accountOf('login', { email: null, password: 'x' })).toBeUndefined();
  });
});

describe('password text', () => {
  it('hashes the password as typed, after NFC only', () => {
    expect(hashedForm('Zoé'.normalize('NFD'))).toBe('Zoé'.normalize('NFC'));
    expect(hashedForm(' Pass Word ')).toBe(' Pass Word ');
    expect(hashedForm('ｐａｓｓ')).toBe('ｐａｓｓ');
  });

  it.each([
    ['password1'],
    ['password1 '],
    ['  password1'],
    ['password1\u200b'],
    ['pass\u200dword1'],
    ['\u202epassword1'],
    ['ｐａｓｓｗｏｒｄ１'],
    ['PASSWORD1'],
    ['Ｐａｓｓｗｏｒｄ１\u00a0'],
  ])('compares %j as password1 for the policy', (input) => {
    expect(policyForm(input)).toBe('password1');
  });
});

describe('audit identifier hash', () => {
  it('is keyed and stable, and shows nothing of the text', () => {
    const key = Buffer.alloc(32, 1);
    const a = identifierHmac(key, 'username:hunter2hunter2');
    expect(a).toMatch(/^hmac-sha256:[0-9a-f]{32}$/);
    expect(identifierHmac(key, 'username:hunter2hunter2')).toBe(a);
    expect(identifierHmac(Buffer.alloc(32, 2), 'username:hunter2hunter2')).not.toBe(a);
    expect(a).not.toContain('hunter2');
  });
});

import { isEmail } from 'class-validator';

/**
 * The one identifier normalizer (docs/security.md, "Identifiers"). Every place that reads an
 * email or a username — the DTO transforms and validators, the rate-limit account key, the
 * login backoff key, the repositories, the CLI — goes through this module, so that the key
 * a limiter counts is always the key of the value the service acts on.
 *
 * The rule, in order:
 *
 * 1. Leading and trailing white space is dropped (`String.prototype.trim`: spaces, tabs,
 *    CR/LF, NBSP, U+3000, BOM...).
 * 2. Fullwidth and halfwidth forms (U+FF00–U+FFEF: `ａｄａ`, what a Japanese IME types in
 *    full-width mode) are mapped to their ordinary characters, as PRECIS' width-mapping
 *    rule does (RFC 8264/8265).
 * 3. Lower case, then Unicode NFC (an address typed decomposed, NFD, is the same address).
 *
 * The normalized value is then refused (400) when it holds what no address should hold:
 * a lone UTF-16 surrogate, a control or format character (U+0000–U+001F, U+007F–U+009F,
 * bidi overrides, zero-width characters and every other default-ignorable code point),
 * white space inside the value (tab, NBSP...), a compatibility character left after the
 * width mapping (its NFKC form differs: ligatures, superscripts, circled letters), or, for
 * emails, anything the mailer would parse or rewrite (quotes, comments, angle brackets,
 * lists, IP literals) and anything over 254 characters. Usernames must then be 3 to 32 of
 * `a-z 0-9 _ . -`.
 */

export const EMAIL_MAX_LENGTH = 254;
export const USERNAME_PATTERN = /^[a-z0-9_.-]{3,32}$/;

const WIDTH_FORMS = /[\uFF00-\uFFEF]/g;
/** In `u` mode a surrogate pair is one code point: this finds only unpaired halves. */
const LONE_SURROGATE = /\p{Cs}/u;
/** Controls, format characters, separators and invisible code points. */
const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Z}\p{Default_Ignorable_Code_Point}]/u;
/** Characters with a meaning to an address parser (RFC 5322 specials), never in ours. */
const MAILER_SPECIALS = /["(),:;<>[\\\]]/;

/** Steps 1 to 3 of the rule, on any string; idempotent. */
function fold(value: string): string {
  return value
    .trim()
    .replace(WIDTH_FORMS, (char) => char.normalize('NFKC'))
    .normalize('NFC')
    .toLowerCase()
    .normalize('NFC');
}

/** The normalized email (not yet checked: see `emailProblem`). */
export function normalizeEmail(email: string): string {
  return fold(email);
}

/** The normalized username (stored and compared lower-cased; not yet checked). */
export function normalizeUsername(username: string): string {
  return fold(username);
}

/** Why a normalized value cannot be an identifier at all, or undefined. */
function textProblem(field: string, value: string): string | undefined {
  if (LONE_SURROGATE.test(value)) return `${field} must not contain a lone UTF-16 surrogate`;
  if (FORBIDDEN.test(value)) {
    return `${field} must not contain control, invisible or space characters`;
  }
  if (value.normalize('NFKC') !== value) {
    return `${field} must not contain compatibility characters (ligatures, superscripts...)`;
  }
  return undefined;
}

/** Why an (already normalized) email is refused, or undefined when it is accepted. */
export function emailProblem(email: string, field = 'email'): string | undefined {
  const problem = textProblem(field, email);
  if (problem) return problem;
  if (email.length > EMAIL_MAX_LENGTH) {
    return `${field} must be shorter than or equal to ${EMAIL_MAX_LENGTH} characters`;
  }
  if (MAILER_SPECIALS.test(email) || !isEmail(email)) return `${field} must be an email`;
  return undefined;
}

/** Why an (already normalized) username is refused, or undefined when it is accepted. */
export function usernameProblem(username: string, field = 'username'): string | undefined {
  return (
    textProblem(field, username) ??
    (USERNAME_PATTERN.test(username)
      ? undefined
      : `${field} must be 3 to 32 of a-z, 0-9, _, . and -`)
  );
}

/**
 * The normalized email when `raw` is one the API accepts, else undefined: what the DTOs
 * accept is exactly what this answers (they use the same two functions).
 */
export function acceptedEmail(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const email = normalizeEmail(raw);
  return emailProblem(email) ? undefined : email;
}

export function acceptedUsername(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const username = normalizeUsername(raw);
  return usernameProblem(username) ? undefined : username;
}

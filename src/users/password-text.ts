/**
 * How a password's text is read (docs/security.md, passwords), in one place.
 *
 * - The stored hash is of the password as typed, after Unicode NFC (NIST SP 800-63B,
 *   5.1.1.2): the same password typed precomposed or decomposed is the same password,
 *   and nothing else is changed (case, spaces and every other character count).
 * - The policy checks (common passwords, "contains your email / username") compare a
 *   looser form, `policyForm`: NFKC (fullwidth `ｐａｓｓｗｏｒｄ１` is `password1`), case
 *   folded, invisible characters removed and white space trimmed, so that `password1 `
 *   or `password1\u200b` is refused like `password1`.
 */

/** What is hashed and verified. */
export function hashedForm(password: string): string {
  return password.normalize('NFC');
}

/** Format and other invisible characters (zero-width, bidi controls, BOM, soft hyphen...). */
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;

/** What the policy compares (never stored, never hashed). */
export function policyForm(text: string): string {
  return text
    .normalize('NFKC')
    .replace(INVISIBLE, '')
    .trim()
    .toLowerCase()
    .normalize('NFKC')
    .replace(/\s+/gu, ' ');
}

import { createRequire } from 'node:module';

/**
 * Mozilla's `fxa-common-password-list` (the list Firefox Accounts checks): the 50,000 most
 * common passwords of 8 or more characters of the SecLists "10 million passwords" list,
 * lower-case; every password of that length among the list's top 100,000 is one of them.
 */
const PACKAGE = 'fxa-common-password-list';
const require = createRequire(import.meta.url);

let list: { test(password: string): boolean } | undefined;

/**
 * True when `password`, compared case-insensitively, is one of the most common passwords.
 * The package decodes its list when it is first loaded (a few MB, some tens of ms), so that
 * happens at the first password check, not at start-up; a check then takes ~60 µs.
 */
export function isCommonPassword(password: string): boolean {
  list ??= require(PACKAGE) as { test(password: string): boolean };
  return list.test(password.toLowerCase());
}

/** Throws when the package is missing: a silently empty list would weaken every account. */
export function assertCommonPasswordList(): void {
  require.resolve(PACKAGE);
}

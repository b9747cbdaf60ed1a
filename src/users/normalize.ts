/** Emails are trimmed and lower-cased before they are stored or compared (API.md). */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Usernames are compared case-insensitively; they are stored lower-cased. */
export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}

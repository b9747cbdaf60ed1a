/** The transport gives up on one message after this long (mailer.ts). */
export const SEND_TIMEOUT_MS = 60_000;
/** How long a claim lasts: well above the send timeout, so a live sender never loses it. */
export const LEASE_MS = 120_000;

import { SetMetadata } from '@nestjs/common';
import type { Principal } from '../auth/principal.js';

export const RECENT_AUTH = 'auth:recentAuth';

/** When a route needs a recent authentication: always, or when the request asks for it. */
export type RecentAuthRule = true | ((body: unknown, caller: Principal) => boolean);

/**
 * Step-up: the route answers `403 REAUTH_REQUIRED` unless the caller's session proved who
 * they are (login or `POST /api/auth/reauthenticate`) within `REAUTH_MAX_AGE`. `when`
 * narrows it to the requests that need it (an email change, not a new first name).
 */
export const RequiresRecentAuth = (when: RecentAuthRule = true) => SetMetadata(RECENT_AUTH, when);

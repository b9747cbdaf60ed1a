import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'auth:isPublic';

/** Opens a route: the global access-token guard lets requests through without a token. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

export const OPTIONAL_AUTH = 'auth:optional';

/** The route works without a token but uses the caller when a valid access token is sent. */
export const OptionalAuth = () => SetMetadata(OPTIONAL_AUTH, true);

export const BEFORE_ENROLMENT = 'auth:beforeEnrolment';

/**
 * The route stays open to a user whom `MFA_POLICY` requires a second factor of but who
 * has none yet (everything else answers `403 MFA_ENROLMENT_REQUIRED`): enrolment itself,
 * `GET /api/auth/me`, logout.
 */
export const AllowedBeforeEnrolment = () => SetMetadata(BEFORE_ENROLMENT, true);

// The shapes of API.md this front end reads. Hand-written on purpose: the pages ship as
// plain ES modules with no bundler, so they cannot import the server's DTO classes.

export type Role = 'USER' | 'ADMIN';

export interface User {
  id: string;
  email: string;
  username: string | null;
  firstName: string | null;
  lastName: string | null;
  role: Role;
  active: boolean;
  emailVerified: boolean;
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
  externalId: string | null;
  mfaEnabled: boolean;
}

/** What a correct password answers when the account has a second factor. */
export interface MfaRequired {
  mfa_required: true;
  mfa_token: string;
  expires_in: number;
  methods: ('totp' | 'webauthn' | 'recovery_code')[];
}

/** `GET /api/auth/me`: the user and their second factors. */
export interface Me extends User {
  mfa: { methods: ('totp' | 'webauthn')[]; recoveryCodesRemaining: number; passkeys: number };
}

export interface Passkey {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  transports: string[];
}

/** OAuth 2.0 token response; `refresh_token` is absent in cookie transport. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  user: User;
}

export interface Session {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  userAgent: string | null;
  ip: string | null;
  current: boolean;
}

export interface UserPage {
  items: User[];
  total: number;
  page: number;
  limit: number;
}

export interface FieldError {
  field: string;
  message: string;
}

/** RFC 9457 problem document, as every API error is. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: FieldError[];
  requestId?: string;
}

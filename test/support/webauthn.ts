// Passkeys in headless Chromium: a virtual authenticator added to a page through the Chrome
// DevTools Protocol (the `WebAuthn` domain), and the two ceremonies run in that page by
// @simplewebauthn/browser as the server serves it (`/vendor/simplewebauthn/index.js`).
//
// A virtual authenticator belongs to one page (tab): two pages of one context are two
// devices, and a ceremony in one never sees the other's credentials. Chromium refuses a
// ceremony in a page without focus, so every ceremony brings its page to the front first.
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { CDPSession, Page } from 'playwright-core';

/** Where the pages load @simplewebauthn/browser from (its `esm/` directory). */
export const WEBAUTHN_BROWSER_MODULE = '/vendor/simplewebauthn/index.js';

/** A credential as `WebAuthn.getCredentials` answers it (binary fields in base64). */
export interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId?: string;
  /** PKCS#8, base64: whoever holds it can sign as this credential (a clone). */
  privateKey: string;
  userHandle?: string;
  signCount: number;
  backupEligibility?: boolean;
  backupState?: boolean;
  userName?: string;
  userDisplayName?: string;
}

export interface AuthenticatorOptions {
  protocol?: 'ctap2' | 'u2f';
  transport?: 'usb' | 'nfc' | 'ble' | 'cable' | 'internal';
  hasResidentKey?: boolean;
  hasUserVerification?: boolean;
  isUserVerified?: boolean;
  automaticPresenceSimulation?: boolean;
}

/** A platform authenticator with user verification that says yes at once. */
export const PLATFORM_AUTHENTICATOR: Required<AuthenticatorOptions> = {
  protocol: 'ctap2',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
};

export interface VirtualAuthenticator {
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
  /** Every credential it holds, with its private key and signature counter. */
  credentials(): Promise<VirtualCredential[]>;
  /** Puts a credential in it (e.g. another authenticator's: a clone). */
  addCredential(credential: VirtualCredential): Promise<void>;
  remove(): Promise<void>;
}

/** Adds a virtual authenticator (a platform passkey authenticator by default) to `page`. */
export async function addVirtualAuthenticator(
  page: Page,
  options: AuthenticatorOptions = {},
): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { ...PLATFORM_AUTHENTICATOR, ...options },
  });
  return {
    page,
    cdp,
    authenticatorId,
    async credentials() {
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      return credentials;
    },
    async addCredential(credential) {
      await cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
    },
    async remove() {
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    },
  };
}

/** What a ceremony in the page ended with: the response, or the DOMException it threw. */
export type CeremonyResult<T> =
  { ok: true; response: T } | { ok: false; name: string; message: string };

/**
 * Runs `startRegistration` or `startAuthentication` of the page's own copy of the library.
 * The code is sent as text: the tests are compiled without the DOM library, and Vitest
 * would rewrite an `import()` written in a function of this file into a helper the page
 * does not have.
 */
async function ceremony<T>(
  page: Page,
  method: 'startRegistration' | 'startAuthentication',
  optionsJSON: unknown,
): Promise<CeremonyResult<T>> {
  await page.bringToFront();
  return page.evaluate(`(async (optionsJSON) => {
    try {
      const lib = await import(${JSON.stringify(WEBAUTHN_BROWSER_MODULE)});
      return { ok: true, response: await lib.${method}({ optionsJSON }) };
    } catch (error) {
      return { ok: false, name: String(error && error.name), message: String(error && error.message) };
    }
  })(${JSON.stringify(optionsJSON)})`);
}

export function tryCreateCredential(
  page: Page,
  optionsJSON: PublicKeyCredentialCreationOptionsJSON,
): Promise<CeremonyResult<RegistrationResponseJSON>> {
  return ceremony(page, 'startRegistration', optionsJSON);
}

export function tryGetAssertion(
  page: Page,
  optionsJSON: PublicKeyCredentialRequestOptionsJSON,
): Promise<CeremonyResult<AuthenticationResponseJSON>> {
  return ceremony(page, 'startAuthentication', optionsJSON);
}

function unwrap<T>(what: string, result: CeremonyResult<T>): T {
  if (!result.ok) throw new Error(`${what} failed in the page: ${result.name}: ${result.message}`);
  return result.response;
}

/** `navigator.credentials.create()` through @simplewebauthn/browser; fails if it throws. */
export async function createCredential(
  page: Page,
  optionsJSON: PublicKeyCredentialCreationOptionsJSON,
): Promise<RegistrationResponseJSON> {
  return unwrap('startRegistration', await tryCreateCredential(page, optionsJSON));
}

/** `navigator.credentials.get()` through @simplewebauthn/browser; fails if it throws. */
export async function getAssertion(
  page: Page,
  optionsJSON: PublicKeyCredentialRequestOptionsJSON,
): Promise<AuthenticationResponseJSON> {
  return unwrap('startAuthentication', await tryGetAssertion(page, optionsJSON));
}

/** The decoded `clientDataJSON` of a response. */
export function clientData(response: { response: { clientDataJSON: string } }): {
  type: string;
  challenge: string;
  origin: string;
  crossOrigin?: boolean;
} {
  return JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8'));
}

/** A copy of `response` whose clientDataJSON says `changes` instead (a forged response). */
export function withClientData<T extends { response: { clientDataJSON: string } }>(
  response: T,
  changes: Record<string, unknown>,
): T {
  const forged = { ...clientData(response), ...changes };
  return {
    ...response,
    response: {
      ...response.response,
      clientDataJSON: Buffer.from(JSON.stringify(forged), 'utf8').toString('base64url'),
    },
  };
}

/** The base64 of CDP as base64url (credential ids and user handles in WebAuthn JSON). */
export function base64ToBase64url(value: string): string {
  return Buffer.from(value, 'base64').toString('base64url');
}

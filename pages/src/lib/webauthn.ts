// Passkeys in the pages: `@simplewebauthn/browser`, served by this server from its npm
// package (/vendor/simplewebauthn/) and loaded only when a passkey is used. Its types come
// from the package at compile time; the module path is a runtime URL, so tsc leaves it be.
import { ApiError } from './api.js';

type SimpleWebAuthn = typeof import('@simplewebauthn/browser');

const MODULE_URL: string = '/vendor/simplewebauthn/index.js';
let loaded: Promise<SimpleWebAuthn> | undefined;

function library(): Promise<SimpleWebAuthn> {
  loaded ??= import(MODULE_URL) as Promise<SimpleWebAuthn>;
  return loaded;
}

/** Whether this browser can use passkeys at all (a secure context with WebAuthn). */
export function passkeysSupported(): boolean {
  return typeof window.PublicKeyCredential === 'function';
}

/**
 * Runs one ceremony: `options` from the server, the authenticator's answer for the next
 * request. A cancelled or refused prompt becomes an ApiError with code `PASSKEY_CANCELLED`,
 * so the forms show it like any other error.
 */
export async function createPasskey(options: unknown): Promise<unknown> {
  const { startRegistration } = await library();
  return ceremony(() =>
    startRegistration({
      optionsJSON: options as Parameters<typeof startRegistration>[0]['optionsJSON'],
    }),
  );
}

export async function usePasskey(options: unknown): Promise<unknown> {
  const { startAuthentication } = await library();
  return ceremony(() =>
    startAuthentication({
      optionsJSON: options as Parameters<typeof startAuthentication>[0]['optionsJSON'],
    }),
  );
}

async function ceremony<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const name = (error as { name?: string }).name;
    const detail =
      name === 'NotAllowedError' || name === 'AbortError'
        ? 'The passkey prompt was closed or timed out. Try again when you are ready.'
        : name === 'InvalidStateError'
          ? 'This device already holds a passkey for your account.'
          : 'This browser could not use a passkey here.';
    throw new ApiError({
      type: 'about:blank',
      title: 'Passkey',
      status: 0,
      code: 'PASSKEY_CANCELLED',
      detail,
    });
  }
}

import { Injectable, Logger } from '@nestjs/common';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { AppError } from '../../common/errors/app-error.js';
import { ErrorCode } from '../../common/errors/error-code.js';
import { AppConfig } from '../../config/app-config.js';
import type { User } from '../../users/entities/user.entity.js';
import { type NewPasskey, type PasskeyRecord, PasskeysRepository } from './passkeys.repository.js';
import { WebauthnChallengesRepository } from './webauthn-challenges.repository.js';

/** How long a registration or sign-in challenge can be answered. */
export const WEBAUTHN_CHALLENGE_TTL_MS = 5 * 60_000;
/** The longest credential id WebAuthn allows. */
const MAX_CREDENTIAL_ID_BYTES = 1023;
/** What the browser waits for the authenticator (the options' `timeout`). */
const CEREMONY_TIMEOUT_MS = 2 * 60_000;

/** A verified assertion: the passkey it was made with (its counter moved on). */
export interface VerifiedAssertion {
  passkey: PasskeyRecord;
  userVerified: boolean;
}

/**
 * The WebAuthn ceremonies (`@simplewebauthn/server`): options with a challenge stored
 * server-side (single use, WEBAUTHN_CHALLENGE_TTL_MS), and the verification of what the
 * authenticator answered against this relying party (WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS).
 * What a passkey means for the account (a second factor, recovery codes) is MfaService's.
 */
@Injectable()
export class WebauthnService {
  private readonly logger = new Logger('Passkeys');

  constructor(
    private readonly passkeys: PasskeysRepository,
    private readonly challenges: WebauthnChallengesRepository,
    private readonly config: AppConfig,
  ) {}

  async registrationOptions(user: User): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing = await this.passkeys.listOfUser(user.id);
    const { rpId, rpName } = this.config.webauthn;
    const options = await generateRegistrationOptions({
      rpName,
      rpID: rpId,
      userName: user.email,
      // The user handle a discoverable credential gives back at a username-less sign-in.
      userID: new TextEncoder().encode(user.id),
      userDisplayName: [user.firstName, user.lastName].filter(Boolean).join(' ') || user.email,
      timeout: CEREMONY_TIMEOUT_MS,
      attestationType: 'none',
      excludeCredentials: existing.map((passkey) => ({
        id: passkey.credentialId,
        transports: passkey.transports,
      })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    });
    await this.challenges.insert(
      options.challenge,
      'registration',
      user.id,
      WEBAUTHN_CHALLENGE_TTL_MS,
    );
    return options;
  }

  /** The passkey a registration response describes, once verified; not stored yet. */
  async verifyRegistration(user: User, response: RegistrationResponseJSON): Promise<NewPasskey> {
    const challenge = challengeOf(response.response.clientDataJSON);
    const issued = challenge && (await this.challenges.consume(challenge, 'registration'));
    if (!challenge || !issued || issued.userId !== user.id) {
      throw new AppError(ErrorCode.PASSKEY_REJECTED);
    }
    const { rpId, origins } = this.config.webauthn;
    let verification;
    try {
      verification = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: [...origins],
        expectedRPID: rpId,
        requireUserVerification: false,
      });
    } catch (error) {
      this.logger.debug(`registration refused: ${(error as Error).message}`);
      throw new AppError(ErrorCode.PASSKEY_REJECTED);
    }
    if (!verification.verified) throw new AppError(ErrorCode.PASSKEY_REJECTED);
    const info = verification.registrationInfo;
    // WebAuthn caps credential ids at 1023 bytes; a longer one (inside the attestation, which
    // the DTO cannot see) would not fit the unique index.
    if (Buffer.from(info.credential.id, 'base64url').length > MAX_CREDENTIAL_ID_BYTES) {
      throw new AppError(ErrorCode.PASSKEY_REJECTED);
    }
    return {
      userId: user.id,
      credentialId: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey),
      counter: info.credential.counter,
      transports: info.credential.transports ?? response.response.transports ?? [],
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      name: '',
    };
  }

  /**
   * Options for an assertion: of one user's passkeys (a second step, a step-up), or of any
   * discoverable one (`userId` null: a username-less sign-in, user verification required).
   */
  async authenticationOptions(
    userId: string | null,
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const allow = userId ? await this.passkeys.listOfUser(userId) : [];
    const options = await generateAuthenticationOptions({
      rpID: this.config.webauthn.rpId,
      timeout: CEREMONY_TIMEOUT_MS,
      userVerification: userId ? 'preferred' : 'required',
      allowCredentials: allow.map((passkey) => ({
        id: passkey.credentialId,
        transports: passkey.transports,
      })),
    });
    await this.challenges.insert(
      options.challenge,
      'authentication',
      userId,
      WEBAUTHN_CHALLENGE_TTL_MS,
    );
    return options;
  }

  /**
   * Verifies an assertion made for a challenge of `authenticationOptions`. `userId` null: a
   * username-less sign-in (a challenge handed out for nobody; user verification required);
   * else the passkey must be that user's (a second step or a step-up, for a challenge
   * handed out for them or for nobody). The challenge is used up whatever the outcome;
   * the counter must move forward (a cloned authenticator does not), and is recorded.
   * Undefined when anything does not hold.
   */
  async verifyAssertion(
    response: AuthenticationResponseJSON,
    userId: string | null,
  ): Promise<VerifiedAssertion | undefined> {
    const challenge = challengeOf(response.response.clientDataJSON);
    const issued = challenge && (await this.challenges.consume(challenge, 'authentication'));
    if (!challenge || !issued || (issued.userId !== null && issued.userId !== userId)) {
      return undefined;
    }
    const passkey = await this.passkeys.findByCredentialId(response.id);
    if (!passkey || (userId !== null && passkey.userId !== userId)) return undefined;
    // A discoverable credential names its user: it must be the passkey's. A username-less
    // sign-in must name one (WebAuthn requires it there; the per-account limit keys on it).
    const handle = response.response.userHandle;
    if (userId === null && !handle) return undefined;
    if (handle && Buffer.from(handle, 'base64url').toString('utf8') !== passkey.userId) {
      return undefined;
    }
    const { rpId, origins } = this.config.webauthn;
    let verification;
    try {
      verification = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: [...origins],
        expectedRPID: rpId,
        credential: {
          id: passkey.credentialId,
          publicKey: new Uint8Array(passkey.publicKey),
          counter: passkey.counter,
          transports: passkey.transports,
        },
        requireUserVerification: userId === null,
      });
    } catch (error) {
      this.logger.debug(`assertion refused: ${(error as Error).message}`);
      return undefined;
    }
    if (!verification.verified) return undefined;
    const { newCounter, userVerified } = verification.authenticationInfo;
    if (!(await this.passkeys.recordUse(passkey.id, passkey.counter, newCounter))) {
      return undefined;
    }
    return { passkey: { ...passkey, counter: newCounter }, userVerified };
  }
}

/** The challenge a response was made for, from its client data; undefined if unreadable. */
function challengeOf(clientDataJSON: string): string | undefined {
  try {
    const data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as unknown;
    const challenge = (data as { challenge?: unknown } | null)?.challenge;
    return typeof challenge === 'string' && challenge.length > 0 && challenge.length <= 512
      ? challenge
      : undefined;
  } catch {
    return undefined;
  }
}

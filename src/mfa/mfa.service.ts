import { Injectable } from '@nestjs/common';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import QRCode from 'qrcode';
import { AuditService } from '../audit/audit.service.js';
import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';
import type { ClientInfo } from '../common/http/client-info.js';
import { AppConfig } from '../config/app-config.js';
import { Transactional } from '../database/transactions.js';
import { MailOutbox } from '../mail/mail-outbox.service.js';
import { LoginBackoff } from '../rate-limit/login-backoff.service.js';
import { hashToken, newToken } from '../recovery/secrets.js';
import { SessionsService } from '../sessions/sessions.service.js';
import type { User } from '../users/entities/user.entity.js';
import { PasswordService } from '../users/password.service.js';
import { UsersRepository } from '../users/users.repository.js';
import { MfaChallengesRepository } from './mfa-challenges.repository.js';
import { type PasskeyRecord, PasskeysRepository } from './passkeys/passkeys.repository.js';
import { WebauthnService } from './passkeys/webauthn.service.js';
import { MfaCrypto, passwordFingerprint } from './mfa-crypto.js';
import { RecoveryCodesRepository } from './recovery-codes.repository.js';
import { canonicalRecoveryCode, newRecoveryCodes } from './recovery-codes.js';
import { TotpFactorsRepository } from './totp-factors.repository.js';
import { base32Secret, matchTotp, newTotpSecret, otpauthUrl } from './totp.js';

/** The methods a second step accepts, as the login answer lists them. */
export type MfaMethod = 'totp' | 'webauthn' | 'recovery_code';
/** A second factor as presented: a TOTP code, a passkey's assertion or a recovery code. */
export interface FactorProof {
  code?: string | undefined;
  recoveryCode?: string | undefined;
  webauthn?: AuthenticationResponseJSON | undefined;
}

/** How long an `mfa_token` lives (issue 16: 5 minutes). */
export const MFA_TOKEN_TTL_MS = 5 * 60_000;
/** Wrong codes an `mfa_token` survives; the next one ends it. */
export const MFA_MAX_ATTEMPTS = 5;

export interface MfaStatus {
  methods: ('totp' | 'webauthn')[];
  recoveryCodesRemaining: number;
  passkeys: number;
}

export interface TotpEnrolment {
  secret: string;
  otpauthUrl: string;
  qrSvg: string;
}

export type ChallengeOutcome =
  | { kind: 'verified'; user: User; method: MfaMethod; identifierKind: 'email' | 'username' }
  | { kind: 'invalid_token' }
  | { kind: 'wrong_code'; dead: boolean };

/**
 * Second factors (docs/security.md, "Second factors"): TOTP enrolment and removal,
 * recovery codes, the pending second step of a login (`mfa_token`), and the admin reset.
 */
@Injectable()
export class MfaService {
  constructor(
    private readonly totp: TotpFactorsRepository,
    private readonly codes: RecoveryCodesRepository,
    private readonly challenges: MfaChallengesRepository,
    private readonly crypto: MfaCrypto,
    private readonly users: UsersRepository,
    private readonly passwords: PasswordService,
    private readonly sessions: SessionsService,
    private readonly outbox: MailOutbox,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
    private readonly backoff: LoginBackoff,
    private readonly passkeys: PasskeysRepository,
    private readonly webauthn: WebauthnService,
  ) {}

  async status(userId: string): Promise<MfaStatus> {
    const { methods, passkeys } = await this.factorCounts(userId);
    if (methods.length === 0) return { methods, recoveryCodesRemaining: 0, passkeys };
    return { methods, recoveryCodesRemaining: await this.codes.remaining(userId), passkeys };
  }

  /** The second factors a user has: a confirmed TOTP authenticator, passkeys. */
  private async factorsOf(userId: string): Promise<('totp' | 'webauthn')[]> {
    return (await this.factorCounts(userId)).methods;
  }

  private async factorCounts(userId: string) {
    const factor = await this.totp.find(userId);
    const passkeys = await this.passkeys.countOfUser(userId);
    const methods: ('totp' | 'webauthn')[] = [
      ...(factor?.confirmed ? (['totp'] as const) : []),
      ...(passkeys > 0 ? (['webauthn'] as const) : []),
    ];
    return { methods, passkeys };
  }

  /** A new TOTP secret, pending until `confirmTotp`; replaces a pending one. */
  async startTotp(user: User, password: string): Promise<TotpEnrolment> {
    await this.checkPassword(user, password);
    const secret = newTotpSecret();
    if (!(await this.totp.savePending(user.id, this.crypto.sealSecret(user.id, secret)))) {
      throw new AppError(ErrorCode.MFA_ALREADY_ENABLED);
    }
    const url = otpauthUrl(secret, user.email, this.config.mfa.issuer);
    return {
      secret: base32Secret(secret),
      otpauthUrl: url,
      qrSvg: await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
    };
  }

  /** Activates the pending TOTP factor with a code from it; answers the recovery codes. */
  @Transactional()
  async confirmTotp(user: User, code: string, client: ClientInfo): Promise<string[]> {
    await this.users.lockById(user.id);
    const factor = await this.totp.find(user.id);
    if (!factor || factor.confirmed) throw new AppError(ErrorCode.MFA_NOT_PENDING);
    const secret = this.crypto.openSecret(user.id, factor.secretSealed);
    const step = secret && matchTotp(secret, code);
    // Only the secret this code was checked against: not one another tab saved meanwhile.
    if (step === undefined || !(await this.totp.confirm(user.id, factor.secretSealed, step))) {
      throw new AppError(ErrorCode.INVALID_CODE);
    }
    return this.turnOn(user, 'totp', client);
  }

  /**
   * Removes the TOTP authenticator: the password and a current second factor. With no
   * passkey left, two-step sign-in is off and the recovery codes go too.
   */
  async removeTotp(user: User, password: string, proof: FactorProof, client: ClientInfo) {
    await this.checkPassword(user, password);
    await this.removeTotpWithProof(user, proof, client);
  }

  /** The factor is checked (and spent) outside the transaction: a wrong one stays audited. */
  private async removeTotpWithProof(user: User, proof: FactorProof, client: ClientInfo) {
    if (!(await this.totp.find(user.id))?.confirmed) throw new AppError(ErrorCode.MFA_NOT_ENABLED);
    await this.requireFactor(user, proof, client);
    await this.removeTotpTransaction(user, client);
  }

  @Transactional()
  private async removeTotpTransaction(user: User, client: ClientInfo) {
    await this.users.lockById(user.id);
    if (!(await this.totp.delete(user.id))) throw new AppError(ErrorCode.MFA_NOT_ENABLED);
    await this.afterFactorRemoved(user, user.id, client, 'totp');
  }

  /**
   * After a factor went: with none left, two-step sign-in is off (the recovery codes and
   * pending second steps go, `mfa.removed`, the user emailed); answers whether it is off.
   */
  private async afterFactorRemoved(
    user: User,
    actorId: string,
    client: ClientInfo,
    method: 'totp' | 'webauthn',
  ): Promise<boolean> {
    if ((await this.factorsOf(user.id)).length > 0) {
      if (method === 'totp') {
        await this.audit.record({
          type: 'mfa.removed',
          userId: user.id,
          actorId,
          client,
          metadata: { method, remainingOn: true },
        });
      }
      return false;
    }
    await this.removeAll(user, actorId, client, method);
    return true;
  }

  async listPasskeys(userId: string): Promise<PasskeyRecord[]> {
    return this.passkeys.listOfUser(userId);
  }

  /**
   * Registers a passkey from `startRegistration()`'s answer. The account's first second
   * factor turns two-step sign-in on and answers ten recovery codes.
   */
  async addPasskey(
    user: User,
    credential: RegistrationResponseJSON,
    name: string | undefined,
    client: ClientInfo,
  ): Promise<{ passkey: PasskeyRecord; recoveryCodes?: string[] }> {
    // Verified (and its challenge used up) before the transaction: a refused one stays used.
    const verified = await this.webauthn.verifyRegistration(user, credential);
    return this.addPasskeyTransaction(
      user,
      { ...verified, name: name?.trim() || 'Passkey' },
      client,
    );
  }

  @Transactional()
  private async addPasskeyTransaction(
    user: User,
    verified: Parameters<PasskeysRepository['insert']>[0],
    client: ClientInfo,
  ): Promise<{ passkey: PasskeyRecord; recoveryCodes?: string[] }> {
    await this.users.lockById(user.id);
    const first = (await this.factorsOf(user.id)).length === 0;
    const passkey = await this.passkeys.insert(verified);
    if (!passkey) throw new AppError(ErrorCode.PASSKEY_EXISTS);
    await this.audit.record({
      type: 'passkey.added',
      userId: user.id,
      actorId: user.id,
      client,
      metadata: { passkeyId: passkey.id, deviceType: passkey.deviceType },
    });
    if (!first) {
      await this.outbox.enqueue({
        template: 'passkey-added',
        to: user.email,
        context: { appUrl: this.config.appUrl, name: passkey.name },
      });
      return { passkey };
    }
    return { passkey, recoveryCodes: await this.turnOn(user, 'webauthn', client) };
  }

  /**
   * A factor confirmed: ten new recovery codes, two-step sign-in on, `mfa.enrolled`, the
   * user emailed. In the caller's transaction.
   */
  private async turnOn(
    user: User,
    method: 'totp' | 'webauthn',
    client: ClientInfo,
  ): Promise<string[]> {
    const recoveryCodes = await this.replaceRecoveryCodes(user.id);
    await this.users.setMfaEnabled(user.id, true);
    await this.audit.record({
      type: 'mfa.enrolled',
      userId: user.id,
      actorId: user.id,
      client,
      metadata: { method },
    });
    await this.outbox.enqueue({
      template: 'mfa-enabled',
      to: user.email,
      context: { appUrl: this.config.appUrl },
    });
    return recoveryCodes;
  }

  @Transactional()
  async renamePasskey(
    user: User,
    id: string,
    name: string,
    client: ClientInfo,
  ): Promise<PasskeyRecord> {
    const passkey = await this.passkeys.rename(user.id, id, name.trim());
    if (!passkey) throw new AppError(ErrorCode.NOT_FOUND);
    await this.audit.record({
      type: 'passkey.renamed',
      userId: user.id,
      actorId: user.id,
      client,
      metadata: { passkeyId: id },
    });
    return passkey;
  }

  /** Removes a passkey (the route asks for a recent authentication); the last factor turns MFA off. */
  @Transactional()
  async removePasskey(user: User, id: string, client: ClientInfo): Promise<void> {
    await this.users.lockById(user.id);
    const passkey = await this.passkeys.findOfUser(user.id, id);
    if (!passkey || !(await this.passkeys.delete(user.id, id))) {
      throw new AppError(ErrorCode.NOT_FOUND);
    }
    await this.audit.record({
      type: 'passkey.removed',
      userId: user.id,
      actorId: user.id,
      client,
      metadata: { passkeyId: id },
    });
    if (!(await this.afterFactorRemoved(user, user.id, client, 'webauthn'))) {
      await this.outbox.enqueue({
        template: 'passkey-removed',
        to: user.email,
        context: { appUrl: this.config.appUrl, name: passkey.name },
      });
    }
  }

  /**
   * A username-less sign-in: the user whose passkey made this assertion (user verification
   * required), or undefined. The caller opens the session.
   */
  async passkeySignIn(
    credential: AuthenticationResponseJSON,
  ): Promise<{ user: User; passkeyId: string } | undefined> {
    const assertion = await this.webauthn.verifyAssertion(credential, null);
    if (!assertion?.userVerified) return undefined;
    const user = await this.users.findById(assertion.passkey.userId);
    return user && { user, passkeyId: assertion.passkey.id };
  }

  /** The owner of the passkey an assertion names, before it is verified (for the backoff). */
  async passkeyOwner(credentialId: string): Promise<User | undefined> {
    const passkey = await this.passkeys.findByCredentialId(credentialId);
    return passkey && this.users.findById(passkey.userId);
  }

  /** Ten new recovery codes (the old ones stop working): the password and a second factor. */
  async regenerateRecoveryCodes(
    user: User,
    password: string,
    proof: FactorProof,
    client: ClientInfo,
  ): Promise<string[]> {
    await this.checkPassword(user, password);
    return this.regenerateWithProof(user, proof, client);
  }

  private async regenerateWithProof(
    user: User,
    proof: FactorProof,
    client: ClientInfo,
  ): Promise<string[]> {
    await this.requireFactor(user, proof, client);
    return this.regenerateTransaction(user, client);
  }

  @Transactional()
  private async regenerateTransaction(user: User, client: ClientInfo): Promise<string[]> {
    const recoveryCodes = await this.replaceRecoveryCodes(user.id);
    await this.audit.record({
      type: 'recovery_codes.regenerated',
      userId: user.id,
      actorId: user.id,
      client,
    });
    return recoveryCodes;
  }

  /**
   * An admin removes a locked-out user's factors: every session of the user ends (a
   * stolen session must not outlive the reset), the user is emailed.
   */
  @Transactional()
  async adminReset(userId: string, adminId: string, client: ClientInfo): Promise<void> {
    const user = await this.users.lockById(userId);
    if (!user) throw new AppError(ErrorCode.NOT_FOUND);
    if (!user.mfaEnabled) throw new AppError(ErrorCode.MFA_NOT_ENABLED);
    await this.removeAll(user, adminId, client, 'all');
    await this.sessions.revokeAllOfUser(user.id);
  }

  /**
   * After a correct password of a user with a factor: the `mfa_token` of the second step,
   * bound to the password hash that was verified.
   */
  async createChallenge(
    user: User,
    identifierKind: 'email' | 'username',
    verifiedHash: string,
  ): Promise<{ mfaToken: string; expiresInSeconds: number; methods: MfaMethod[] }> {
    // `<user id>.<256 random bits>`: the rate limiter keys the per-account limit by the id
    // before anything is read; only the whole token, by its hash, opens the challenge.
    const mfaToken = `${user.id}.${newToken()}`;
    await this.challenges.insert({
      tokenHash: hashToken(mfaToken),
      userId: user.id,
      passwordFingerprint: passwordFingerprint(verifiedHash),
      identifierKind,
      attempts: 0,
      ttlMs: MFA_TOKEN_TTL_MS,
    });
    return {
      mfaToken,
      expiresInSeconds: MFA_TOKEN_TTL_MS / 1000,
      methods: [...(await this.factorsOf(user.id)), 'recovery_code'],
    };
  }

  /**
   * Options for a passkey assertion in the second step of a login: of the passkeys of the
   * user the live `mfa_token` is for. The token is not used up.
   */
  async webauthnOptionsFor(mfaToken: string) {
    const challenge = await this.challenges.findLive(hashToken(mfaToken));
    if (!challenge || (await this.passkeys.countOfUser(challenge.userId)) === 0) {
      throw new AppError(ErrorCode.INVALID_MFA_TOKEN);
    }
    return this.webauthn.authenticationOptions(challenge.userId);
  }

  /** Options for a passkey assertion anywhere else: a username-less sign-in, a step-up. */
  discoverableOptions() {
    return this.webauthn.authenticationOptions(null);
  }

  registrationOptions(user: User) {
    return this.webauthn.registrationOptions(user);
  }

  /** Who a live `mfa_token` is for (before its backoff is consulted), without using it. */
  async challengedUser(
    mfaToken: string,
  ): Promise<{ user: User; identifierKind: 'email' | 'username' } | undefined> {
    const challenge = await this.challenges.findLive(hashToken(mfaToken));
    const user = challenge && (await this.users.findById(challenge.userId));
    return user && challenge ? { user, identifierKind: challenge.identifierKind } : undefined;
  }

  /**
   * The second step: the challenge locked, the factor checked, the challenge used up (or
   * its wrong code counted: the 5th ends it). Answers instead of throwing, so that a
   * counted attempt commits.
   */
  @Transactional()
  async answerChallenge(
    mfaToken: string,
    proof: FactorProof,
    client: ClientInfo,
  ): Promise<ChallengeOutcome> {
    const tokenHash = hashToken(mfaToken);
    const challenge = await this.challenges.lockLive(tokenHash);
    if (!challenge) return { kind: 'invalid_token' };
    const user = await this.users.findById(challenge.userId);
    if (
      !user?.active ||
      !user.mfaEnabled ||
      !passwordFingerprint(user.passwordHash).equals(challenge.passwordFingerprint)
    ) {
      await this.challenges.delete(tokenHash);
      return { kind: 'invalid_token' };
    }
    const method = await this.checkFactor(user, proof, client);
    if (!method) {
      const attempts = await this.challenges.countFailure(tokenHash);
      const dead = attempts >= MFA_MAX_ATTEMPTS;
      if (dead) await this.challenges.delete(tokenHash);
      return { kind: 'wrong_code', dead };
    }
    await this.challenges.delete(tokenHash);
    await this.audit.record({
      type: 'mfa.verified',
      userId: user.id,
      actorId: user.id,
      client,
      metadata: { method },
    });
    return { kind: 'verified', user, method, identifierKind: challenge.identifierKind };
  }

  /**
   * A second factor presented outside a login (step-up): its method when it is correct
   * (and now spent), else undefined after `mfa.failed`.
   */
  @Transactional()
  async verifyFactor(
    user: User,
    proof: FactorProof,
    client: ClientInfo,
  ): Promise<MfaMethod | undefined> {
    if (!user.mfaEnabled) return undefined;
    return this.checkFactor(user, proof, client);
  }

  /**
   * The method of a correct second factor, recording its use (a TOTP step, a recovery
   * code: each works once), or undefined after writing `mfa.failed`.
   */
  private async checkFactor(
    user: User,
    proof: FactorProof,
    client: ClientInfo,
  ): Promise<MfaMethod | undefined> {
    const method = await this.useFactor(user, proof);
    if (!method) {
      await this.audit.record({
        type: 'mfa.failed',
        userId: user.id,
        actorId: null,
        client,
        metadata: { method: proofMethod(proof) },
      });
      return undefined;
    }
    if (method === 'recovery_code') {
      const remaining = await this.codes.remaining(user.id);
      await this.audit.record({
        type: 'recovery_code.used',
        userId: user.id,
        actorId: user.id,
        client,
        metadata: { remaining },
      });
      await this.outbox.enqueue({
        template: 'recovery-code-used',
        to: user.email,
        context: { appUrl: this.config.appUrl, remaining },
      });
    }
    return method;
  }

  private async useFactor(user: User, proof: FactorProof): Promise<MfaMethod | undefined> {
    if (proof.webauthn !== undefined) {
      const assertion = await this.webauthn.verifyAssertion(proof.webauthn, user.id);
      return assertion ? 'webauthn' : undefined;
    }
    if (proof.recoveryCode !== undefined) {
      const code = canonicalRecoveryCode(proof.recoveryCode);
      // Looked up by its keyed hash: nothing is compared character by character.
      const used =
        code !== undefined &&
        (await this.codes.use(user.id, this.crypto.recoveryCodeHash(user.id, code)));
      return used ? 'recovery_code' : undefined;
    }
    if (proof.code === undefined) return undefined;
    const factor = await this.totp.find(user.id);
    const secret = factor?.confirmed && this.crypto.openSecret(user.id, factor.secretSealed);
    const step = secret ? matchTotp(secret, proof.code) : undefined;
    return step !== undefined && (await this.totp.useStep(user.id, step)) ? 'totp' : undefined;
  }

  private async requireFactor(user: User, proof: FactorProof, client: ClientInfo) {
    if ((await this.factorsOf(user.id)).length === 0) throw new AppError(ErrorCode.MFA_NOT_ENABLED);
    if (!(await this.checkFactor(user, proof, client))) {
      throw new AppError(proof.webauthn ? ErrorCode.INVALID_PASSKEY : ErrorCode.INVALID_CODE);
    }
  }

  private async removeAll(
    user: User,
    actorId: string,
    client: ClientInfo,
    method: 'totp' | 'webauthn' | 'all',
  ) {
    await this.totp.delete(user.id);
    await this.passkeys.deleteAllOfUser(user.id);
    await this.codes.deleteAll(user.id);
    await this.challenges.deleteAllOfUser(user.id);
    await this.users.setMfaEnabled(user.id, false);
    const byAdmin = actorId !== user.id;
    await this.audit.record({
      type: 'mfa.removed',
      userId: user.id,
      actorId,
      client,
      metadata: { method, ...(byAdmin ? { byAdmin } : {}) },
    });
    await this.outbox.enqueue({
      template: 'mfa-removed',
      to: user.email,
      context: { appUrl: this.config.appUrl, byAdmin },
    });
  }

  private async replaceRecoveryCodes(userId: string): Promise<string[]> {
    const recoveryCodes = newRecoveryCodes();
    await this.codes.replace(
      userId,
      recoveryCodes.map((code) =>
        this.crypto.recoveryCodeHash(userId, canonicalRecoveryCode(code)!),
      ),
    );
    return recoveryCodes;
  }

  /** Under the account's login backoff, like change-password (LoginBackoff). */
  private async checkPassword(user: User, password: string): Promise<void> {
    const valid = await this.backoff.checkCurrentPassword(user, () =>
      this.passwords.verify(user.passwordHash, password),
    );
    if (!valid) {
      throw new AppError(ErrorCode.INVALID_CURRENT_PASSWORD);
    }
  }
}

function proofMethod(proof: FactorProof): MfaMethod {
  if (proof.webauthn !== undefined) return 'webauthn';
  return proof.recoveryCode !== undefined ? 'recovery_code' : 'totp';
}

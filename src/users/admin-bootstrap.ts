import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { isEmail } from 'class-validator';
import { AuditService } from '../audit/audit.service.js';
import { AppError } from '../common/errors/app-error.js';
import { AppConfig, ConfigError } from '../config/app-config.js';
import { TransactionHost, type TypeOrmTx } from '../database/transactions.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { AdminProvisioning } from './admin-provisioning.js';
import { normalizeEmail } from '../common/identifiers.js';
import { PasswordPolicy } from './password-policy.js';
import { PasswordService } from './password.service.js';
import { UsersRepository } from './users.repository.js';

/**
 * With ADMIN_EMAIL and ADMIN_PASSWORD set and no active admin, creates one at start-up (or
 * promotes the account with that email, giving it ADMIN_PASSWORD). Idempotent: later starts
 * find the admin and do nothing, and instances starting together take turns on an
 * advisory lock. A weak ADMIN_PASSWORD or a malformed ADMIN_EMAIL stops start-up.
 */
@Injectable()
export class AdminBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger('AdminBootstrap');

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly passwords: PasswordService,
    private readonly policy: PasswordPolicy,
    private readonly audit: AuditService,
    private readonly txHost: TransactionHost<TypeOrmTx>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { email: rawEmail, password } = this.config.admin;
    if (!rawEmail && !password) return;
    if (!rawEmail || !password) {
      this.logger.warn('Set both ADMIN_EMAIL and ADMIN_PASSWORD to bootstrap an admin; skipped');
      return;
    }
    // The common case, every start after the first: no hashing, no lock.
    if (await this.users.hasActiveAdmin()) return;
    const email = this.checkedEmail(rawEmail);
    this.checkPassword(password, email);
    const provisioning = new AdminProvisioning(
      this.users,
      this.sessions,
      this.audit,
      this.txHost,
      'bootstrap',
    );
    const outcome = await provisioning.bootstrap({
      email,
      passwordHash: await this.passwords.hash(password),
    });
    if (outcome === 'created') this.logger.log(`Created the admin ${email} (ADMIN_EMAIL)`);
    if (outcome === 'promoted') this.logger.warn(`Promoted the existing user ${email} to admin`);
  }

  private checkedEmail(raw: string): string {
    const email = normalizeEmail(raw);
    if (!isEmail(email)) {
      throw new ConfigError('Invalid configuration: ADMIN_EMAIL must be an email address');
    }
    return email;
  }

  private checkPassword(password: string, email: string): void {
    try {
      this.policy.check(password, { email }, 'ADMIN_PASSWORD');
    } catch (error) {
      if (error instanceof AppError)
        throw new ConfigError(`Invalid configuration: ${error.detail}`);
      throw error;
    }
  }
}

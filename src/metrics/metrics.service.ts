import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';

export type LoginOutcome =
  | 'success'
  | 'invalid_credentials'
  | 'account_disabled'
  | 'email_not_verified'
  | 'rate_limited'
  | 'mfa_required';

/** Domain counters, injectable anywhere (MetricsModule is global). */
@Injectable()
export class MetricsService {
  constructor(
    @InjectMetric('auth_login_attempts_total') private readonly logins: Counter<'outcome'>,
  ) {}

  loginOutcome(outcome: LoginOutcome): void {
    this.logins.inc({ outcome });
  }
}

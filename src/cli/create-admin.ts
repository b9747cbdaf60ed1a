/**
 * `npm run create-admin -- --email a@b.c [--password ...]`: makes that email an active
 * admin. A new account needs a password: from --password, else ADMIN_PASSWORD, else a
 * prompt with hidden input. An existing account is promoted; its password changes only
 * when one is given (and then its sessions are revoked). Exit codes: 0 done, 1 refused
 * (weak password, bad email...), 2 usage error.
 */
import 'reflect-metadata';
import { isEmail } from 'class-validator';
import { parseArgs } from 'node:util';
import { AuditService } from '../audit/audit.service.js';
import { TransactionHost, type TypeOrmTx } from '../database/transactions.js';
import { AppError } from '../common/errors/app-error.js';
import { ConfigError, loadConfig } from '../config/app-config.js';
import { loadEnvFile } from '../config/env-file.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { AdminProvisioning, PasswordRequiredError } from '../users/admin-provisioning.js';
import { normalizeEmail } from '../common/identifiers.js';
import { PasswordPolicy } from '../users/password-policy.js';
import { PasswordService } from '../users/password.service.js';
import { UsersRepository } from '../users/users.repository.js';
import { openCliDatabase, say } from './cli-database.js';
import { promptHidden } from './prompt.js';

const USAGE = 'Usage: npm run create-admin -- --email <email> [--password <password>]';

class UsageError extends Error {}

function parseCommandLine(): { email: string; password: string | undefined } {
  const { values } = parseArgs({
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) throw new UsageError(USAGE);
  if (!values.email) throw new UsageError(`--email is required.\n${USAGE}`);
  const email = normalizeEmail(values.email);
  if (!isEmail(email)) throw new UsageError(`"${values.email}" is not an email address.`);
  return { email, password: values.password ?? process.env.ADMIN_PASSWORD ?? undefined };
}

async function run(): Promise<void> {
  loadEnvFile();
  const args = parseCommandLine();
  const config = loadConfig();
  const database = await openCliDatabase(config);
  try {
    const users = database.get(UsersRepository);
    const existing = await users.findByLogin('email', args.email);
    const password = args.password || (existing ? undefined : await askPassword());
    if (password !== undefined) {
      database.get(PasswordPolicy).check(password, {
        email: args.email,
        username: existing?.username,
      });
    }
    const passwordHash = password && (await database.get(PasswordService).hash(password));
    const provisioning = new AdminProvisioning(
      users,
      database.get(SessionsService),
      database.get(AuditService),
      database.get<TransactionHost<TypeOrmTx>>(TransactionHost),
      'cli',
    );
    const outcome = await provisioning.ensureAdmin({ email: args.email, passwordHash });
    say(describe(outcome, args.email, passwordHash !== undefined));
  } finally {
    await database.close();
  }
}

async function askPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new UsageError(
      'A new admin needs a password: pass --password, set ADMIN_PASSWORD, or run in a terminal to be asked.',
    );
  }
  const first = await promptHidden('Password for the new admin: ');
  const second = await promptHidden('Repeat the password: ');
  if (first !== second) throw new UsageError('The passwords differ.');
  return first;
}

function describe(outcome: string, email: string, passwordSet: boolean): string {
  const password = passwordSet ? 'password set, existing sessions revoked' : 'password unchanged';
  switch (outcome) {
    case 'created':
      return `Created the admin ${email}.`;
    case 'promoted':
      return `${email} already had an account: promoted it to admin (${password}).`;
    default:
      return `${email} is already an admin (${password}).`;
  }
}

/** 2 for a wrong invocation or configuration, 1 when the request itself is refused. */
function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || error instanceof ConfigError || isParseArgsError(error)) {
    return 2;
  }
  return 1;
}

function isParseArgsError(error: unknown): error is Error {
  return (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'string' &&
    error.code.startsWith('ERR_PARSE_ARGS')
  );
}

run().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${messageOf(error)}\n`);
    process.exit(exitCodeFor(error));
  },
);

function messageOf(error: unknown): string {
  if (error instanceof AppError) return `Refused: ${error.detail ?? error.code}`;
  if (error instanceof PasswordRequiredError) {
    return 'A new admin needs a password: pass --password or set ADMIN_PASSWORD.';
  }
  if (error instanceof UsageError || error instanceof ConfigError) return error.message;
  if (isParseArgsError(error)) return `${error.message}\n${USAGE}`;
  return `create-admin failed: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * `npm run import-users -- users.ndjson [--format ndjson|json|csv] [--dry-run]
 * [--on-conflict skip|update|fail] [--map name=firstName ...] [--batch 1000]
 * [--allow-no-password] [--flask-security] [--send-verification] [--report out.ndjson]`:
 * brings users over from another backend with the password hashes they have
 * (docs/migration.md). Streamed (never the whole file in memory), in transactional
 * batches; a refused row is reported with its line and fails only its batch. Exit codes:
 * 0 every row imported (or skipped), 1 some rows refused, 2 usage or configuration error.
 * Same database as the server: DATABASE_URL, else the embedded one under DATA_DIR.
 */
import 'reflect-metadata';
import { createReadStream, createWriteStream, statSync, type ReadStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type AppConfig } from '../config/app-config.js';
import { loadEnvFile } from '../config/env-file.js';
import { TransactionHost, type TypeOrmTx } from '../database/transactions.js';
import { describeDuration } from '../mail/mail-message.js';
import { MailOutboxRepository } from '../mail/mail-outbox.repository.js';
import { EmailVerificationsRepository } from '../recovery/email-verifications.repository.js';
import { hashToken, newToken } from '../recovery/secrets.js';
import { AuditService } from '../audit/audit.service.js';
import { SessionsRepository } from '../sessions/sessions.repository.js';
import { UserImportWriter, type ImportContext } from '../users/user-import-writer.js';
import { UsersRepository } from '../users/users.repository.js';
import {
  CONFLICT_MODES,
  IMPORT_FORMATS,
  ImportFormatError,
  formatOfName,
  mapProblem,
  parseMap,
  runImport,
  type ConflictMode,
  type ImportFormat,
  type ImportReport,
  type ReportEntry,
} from '../users/user-import.js';
import { openCliDatabase, say } from './cli-database.js';

const USAGE = `Usage: npm run import-users -- <file> [--format ndjson|json|csv] [--dry-run]
       [--on-conflict skip|update|fail] [--map source=target ...] [--batch 1000]
       [--allow-no-password] [--flask-security] [--send-verification] [--report out.ndjson]`;

class UsageError extends Error {}

interface Args {
  file: string;
  format: ImportFormat;
  dryRun: boolean;
  onConflict: ConflictMode;
  map: Map<string, string>;
  batchSize: number;
  allowNoPassword: boolean;
  flaskSecurity: boolean;
  sendVerification: boolean;
  report: string | undefined;
}

function parseCommandLine(): Args {
  const { values, positionals } = parseArgs({
    options: {
      format: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'on-conflict': { type: 'string', default: 'fail' },
      map: { type: 'string', multiple: true, default: [] },
      batch: { type: 'string', default: '1000' },
      'allow-no-password': { type: 'boolean', default: false },
      'flask-security': { type: 'boolean', default: false },
      'send-verification': { type: 'boolean', default: false },
      report: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) throw new UsageError(USAGE);
  if (positionals.length !== 1) throw new UsageError(`One input file is required.\n${USAGE}`);
  const file = positionals[0];
  const format = (values.format ?? formatOfName(file)) as ImportFormat | undefined;
  if (!format || !(IMPORT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(
      `--format must be one of ${IMPORT_FORMATS.join(', ')} (the file name does not tell).`,
    );
  }
  const onConflict = values['on-conflict'] as ConflictMode;
  if (!(CONFLICT_MODES as readonly string[]).includes(onConflict)) {
    throw new UsageError(`--on-conflict must be one of ${CONFLICT_MODES.join(', ')}.`);
  }
  const batchSize = Number(values.batch);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 5000) {
    throw new UsageError('--batch must be a whole number from 1 to 5000.');
  }
  let map: Map<string, string>;
  try {
    map = parseMap(values.map);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const problem = mapProblem(map);
  if (problem) throw new UsageError(problem);
  return {
    file,
    format,
    dryRun: values['dry-run'],
    onConflict,
    map,
    batchSize,
    allowNoPassword: values['allow-no-password'],
    flaskSecurity: values['flask-security'],
    sendVerification: values['send-verification'],
    report: values.report,
  };
}

/** A bar with rows/s and ETA on a terminal; a plain line every few seconds otherwise. */
class Progress {
  private readonly started = performance.now();
  private lastPlain = 0;
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private readonly input: ReadStream,
    private readonly totalBytes: number,
  ) {}

  update(rows: number, final = false): void {
    const seconds = (performance.now() - this.started) / 1000;
    const rate = seconds > 0 ? rows / seconds : 0;
    const fraction = this.totalBytes > 0 ? Math.min(1, this.input.bytesRead / this.totalBytes) : 1;
    const eta = fraction > 0 && fraction < 1 ? (seconds / fraction) * (1 - fraction) : 0;
    const numbers = `${rows.toLocaleString('en')} rows, ${Math.round(rate).toLocaleString('en')} rows/s`;
    if (this.tty) {
      const width = 30;
      const done = Math.round(fraction * width);
      const bar = `[${'#'.repeat(done)}${'-'.repeat(width - done)}] ${Math.floor(fraction * 100)}%`;
      process.stderr.write(`\r${bar} ${numbers}, ETA ${clock(eta)}  ${final ? '\n' : ''}`);
    } else if (final || performance.now() - this.lastPlain > 5000) {
      this.lastPlain = performance.now();
      process.stderr.write(`${Math.floor(fraction * 100)}% ${numbers}${final ? ', done' : ''}\n`);
    }
  }
}

function clock(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** --send-verification: a verification link for every inserted, unverified user. */
function verificationMailer(
  config: AppConfig,
  txHost: TransactionHost<TypeOrmTx>,
): ImportContext['afterInsert'] {
  const verifications = new EmailVerificationsRepository(txHost);
  const outbox = new MailOutboxRepository(txHost);
  return async (users) => {
    for (const user of users) {
      const token = newToken();
      await verifications.issue(user.id, hashToken(token), config.emailVerificationTtlMs);
      await outbox.insert({
        template: 'verify-email',
        to: user.email,
        context: {
          link: `${config.appUrl}/verify-email?token=${encodeURIComponent(token)}`,
          expiresIn: describeDuration(config.emailVerificationTtlMs),
        },
      });
    }
  };
}

function describeEntry(entry: ReportEntry): string {
  const field = entry.field ? `${entry.field}: ` : '';
  return `line ${entry.line}: ${entry.outcome}: ${field}${entry.message ?? ''}`;
}

function summary(report: ImportReport): string {
  const verb = report.dryRun ? 'would be ' : '';
  const lines = [
    `${report.dryRun ? 'Dry run (nothing written): ' : ''}${report.rows} rows read: ` +
      `${report.inserted} ${verb}inserted, ${report.updated} ${verb}updated, ` +
      `${report.skipped} ${verb}skipped (already there), ${report.errors} refused, ` +
      `${report.notWritten} not written with their batch, ${report.warnings} warnings.`,
  ];
  if (report.failedBatches.length > 0) {
    lines.push(
      `Batches not written: ${report.failedBatches.map((b) => `lines ${b.firstLine}-${b.lastLine}`).join(', ')}.`,
    );
  }
  if (report.ignoredFields.length > 0) {
    lines.push(
      `Fields ignored (not import fields; --map them to keep them): ${report.ignoredFields.join(', ')}.`,
    );
  }
  return lines.join('\n');
}

async function run(): Promise<number> {
  loadEnvFile();
  const args = parseCommandLine();
  const config = loadConfig();
  let size: number;
  try {
    size = statSync(args.file).size;
  } catch {
    throw new UsageError(`Cannot read ${args.file}.`);
  }
  if (args.flaskSecurity && !config.legacyHashes.flaskSecuritySalt) {
    process.stderr.write(
      'Note: set FLASK_SECURITY_PASSWORD_SALT (your SECURITY_PASSWORD_SALT) on the server, or these users cannot sign in.\n',
    );
  }
  const database = await openCliDatabase(config);
  const reportFile = args.report ? createWriteStream(args.report) : undefined;
  try {
    const input = createReadStream(args.file, { highWaterMark: 256 * 1024 });
    const progress = new Progress(input, size);
    const txHost = database.get<TransactionHost<TypeOrmTx>>(TransactionHost);
    const stores = {
      users: database.get(UsersRepository),
      sessions: database.get(SessionsRepository),
      audit: database.get(AuditService),
    };
    const writer = new UserImportWriter(txHost, stores, {
      source: 'cli',
      actorId: null,
      ip: null,
      userAgent: 'authkit import-users',
      afterInsert: args.sendVerification ? verificationMailer(config, txHost) : undefined,
    });
    const report = await runImport(
      input,
      {
        format: args.format,
        options: {
          map: args.map,
          allowNoPassword: args.allowNoPassword,
          flaskSecurity: args.flaskSecurity,
        },
        onConflict: args.onConflict,
        dryRun: args.dryRun,
        batchSize: args.batchSize,
      },
      writer,
      {
        onEntry(entry) {
          if (reportFile && !reportFile.write(`${JSON.stringify(entry)}\n`)) {
            // Backpressure is left to the OS buffer; entries are small.
          }
          if (entry.outcome === 'error' || entry.outcome === 'warning') say(describeEntry(entry));
        },
        onProgress: (rows) => progress.update(rows),
      },
    );
    progress.update(report.rows, true);
    say(summary(report));
    return report.errors > 0 ? 1 : 0;
  } finally {
    if (reportFile) {
      reportFile.end();
      await once(reportFile, 'close');
    }
    await database.close();
  }
}

function exitCodeFor(error: unknown): number {
  if (
    error instanceof UsageError ||
    error instanceof ConfigError ||
    (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
  ) {
    return 2;
  }
  return 1;
}

run().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message =
      error instanceof ImportFormatError
        ? `The file cannot be read: ${error.message}. The batches before that point were written (see above); nothing after it.`
        : error instanceof Error
          ? error.message
          : String(error);
    process.stderr.write(`${message}\n`);
    process.exit(exitCodeFor(error));
  },
);

import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { isUUID } from 'class-validator';
import { ROLES, type Role } from '../common/auth/role.js';
import { DigestLines } from './digest-lines.js';
import {
  FLASK_SECURITY_PREFIX,
  MAX_HASH_LENGTH,
  NO_PASSWORD,
  hashScheme,
} from './legacy-hashes.js';
import {
  emailProblem,
  normalizeEmail,
  normalizeUsername,
  usernameProblem,
} from '../common/identifiers.js';

/**
 * Bringing users over from another backend (docs/migration.md): reading NDJSON, a JSON
 * array or CSV as a stream (never the whole file in memory), turning each record into a
 * checked `ImportRow`, and running the batches. The database writes are in
 * `user-import-writer.ts` (through UsersRepository, SessionsRepository and AuditService); the command line (`src/cli/import-users.ts`) and
 * `POST /api/users/import` both drive `runImport`.
 */

export const IMPORT_FORMATS = ['ndjson', 'json', 'csv'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];
export const CONFLICT_MODES = ['skip', 'update', 'fail'] as const;
export type ConflictMode = (typeof CONFLICT_MODES)[number];

/** The fields of the import format, which `export-users` writes too. */
export const IMPORT_FIELDS = [
  'id',
  'externalId',
  'email',
  'username',
  'firstName',
  'lastName',
  'role',
  'active',
  'emailVerified',
  'createdAt',
  'updatedAt',
  'lastLoginAt',
  'passwordHash',
] as const;
export type ImportField = (typeof IMPORT_FIELDS)[number];

/** Names other backends use for the same fields (a `--map` overrides them). */
const ALIASES: Record<string, ImportField> = {
  _id: 'id',
  external_id: 'externalId',
  first_name: 'firstName',
  last_name: 'lastName',
  email_verified: 'emailVerified',
  created_at: 'createdAt',
  updated_at: 'updatedAt',
  last_login_at: 'lastLoginAt',
  password_hash: 'passwordHash',
};

/** `--map` targets besides the fields: `name=split` splits a full name, `x=-` drops `x`. */
export const SPLIT_NAME = 'split';
export const IGNORE = '-';

export interface ImportOptions {
  /** Source field → import field (or `split`, or `-`). */
  map: ReadonlyMap<string, string>;
  /** Rows without a usable hash are imported password-less (`!`) instead of refused. */
  allowNoPassword: boolean;
  /** Bare bcrypt hashes are Flask-Security's (HMAC first): stored behind `flask-security:`. */
  flaskSecurity: boolean;
}

/** A checked row; `undefined` means the field was not in the record (an update keeps it). */
export interface ImportRow {
  id?: string;
  externalId?: string | null;
  email: string;
  username?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  role?: Role;
  active?: boolean;
  emailVerified?: boolean;
  /** Timestamps as UTC ISO 8601 text (`TIMESTAMP_TEXT`), microseconds kept. */
  createdAt?: string;
  updatedAt?: string;
  lastLoginAt?: string | null;
  passwordHash?: string;
}

export interface RowProblem {
  field?: string;
  message: string;
}

export type ParsedRecord =
  { row: ImportRow; warnings: RowProblem[]; ignored: string[] } | { errors: RowProblem[] };

/** Checks a `--map` before anything is read: every target must be a field, `split` or `-`. */
export function mapProblem(map: ReadonlyMap<string, string>): string | undefined {
  for (const [from, to] of map) {
    if (to === SPLIT_NAME || to === IGNORE) continue;
    if (!(IMPORT_FIELDS as readonly string[]).includes(to)) {
      return `--map ${from}=${to}: the target must be one of ${IMPORT_FIELDS.join(', ')}, ${SPLIT_NAME} or ${IGNORE}`;
    }
  }
  return undefined;
}

/** Parses `name=firstName` pairs. */
export function parseMap(pairs: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0 || at === pair.length - 1) throw new Error(`--map ${pair}: expected source=target`);
    map.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return map;
}

/** MongoDB Extended JSON (`mongoexport`): `{"$oid"}`, `{"$date"}`, `{"$numberLong"}`... */
function unwrapExtendedJson(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  if (keys.length !== 1) return value;
  const inner = (value as Record<string, unknown>)[keys[0]];
  switch (keys[0]) {
    case '$oid':
      return typeof inner === 'string' ? inner : value;
    case '$date': {
      const unwrapped = unwrapExtendedJson(inner);
      if (typeof unwrapped === 'string' || typeof unwrapped === 'number') {
        return new Date(
          typeof unwrapped === 'string' && /^-?\d+$/.test(unwrapped)
            ? Number(unwrapped)
            : unwrapped,
        );
      }
      return value;
    }
    case '$numberLong':
    case '$numberInt':
    case '$numberDouble':
    case '$numberDecimal':
      return typeof inner === 'string' ? inner : value;
    default:
      return value;
  }
}

const isBlank = (value: unknown): boolean =>
  value === undefined || value === null || (typeof value === 'string' && value.trim() === '');

function text(value: unknown, field: string, max: number): string | null {
  if (isBlank(value)) return null;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value !== 'string') throw problem(field, `${field} must be text`);
  const trimmed = value.trim();
  if (trimmed.includes('\0')) throw problem(field, `${field} must not contain U+0000`);
  if (trimmed.length > max) throw problem(field, `${field} must be at most ${max} characters`);
  return trimmed;
}

function bool(value: unknown, field: string): boolean | undefined {
  if (isBlank(value)) return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['true', 't', '1', 'yes', 'y'].includes(v)) return true;
    if (['false', 'f', '0', 'no', 'n'].includes(v)) return false;
  }
  throw problem(field, `${field} must be true or false`);
}

/**
 * What a checked timestamp looks like: UTC, up to microseconds (PostgreSQL's precision,
 * which `export-users` writes, so that a round trip is lossless).
 */
export const TIMESTAMP_TEXT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

/**
 * A timestamp as `TIMESTAMP_TEXT`. Dates before 1970 or after 2100 are taken for a
 * mistake (seconds taken for milliseconds...).
 */
function date(value: unknown, field: string): string | null {
  if (isBlank(value)) return null;
  let d: Date;
  if (value instanceof Date) d = value;
  else if (typeof value === 'number') d = new Date(value);
  else if (typeof value === 'string') {
    // PostgreSQL's text form "2024-01-02 03:04:05.123+00" and MySQL's "2024-01-02 03:04:05" (UTC).
    const v = value.trim();
    const iso = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}/.test(v) ? v.replace(' ', 'T') : v;
    const zoned = /(Z|[+-]\d{2}(:?\d{2})?)$/.test(iso) || !iso.includes('T') ? iso : `${iso}Z`;
    d = new Date(/[+-]\d{2}$/.test(zoned) ? `${zoned}:00` : zoned);
  } else throw problem(field, `${field} must be a date`);
  const time = d.getTime();
  if (Number.isNaN(time)) throw problem(field, `${field} must be a date (ISO 8601)`);
  if (time < 0 || time > Date.UTC(2100, 0, 1)) {
    throw problem(field, `${field} must be between 1970 and 2100`);
  }
  // Already UTC with more than milliseconds: kept as written (Date has milliseconds only).
  if (typeof value === 'string' && TIMESTAMP_TEXT.test(value.trim())) return value.trim();
  return d.toISOString();
}

class FieldProblem extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
const problem = (field: string, message: string) => new FieldProblem(field, message);

/** Turns one record of the file into a checked row, or says everything wrong with it. */
export function parseImportRecord(record: unknown, options: ImportOptions): ParsedRecord {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    return { errors: [{ message: 'a row must be an object' }] };
  }
  const fields: Partial<Record<ImportField, unknown>> = {};
  const ignored: string[] = [];
  const errors: RowProblem[] = [];
  const warnings: RowProblem[] = [];
  for (const [key, raw] of Object.entries(record as Record<string, unknown>)) {
    const value = unwrapExtendedJson(raw);
    const target = options.map.get(key) ?? ALIASES[key] ?? key;
    if (target === IGNORE) continue;
    if (target === SPLIT_NAME) {
      const full = isBlank(value) ? '' : String(value).trim();
      const space = full.search(/\s/);
      fields.firstName ??= space < 0 ? full : full.slice(0, space);
      fields.lastName ??= space < 0 ? null : full.slice(space + 1).trim();
      continue;
    }
    if (!(IMPORT_FIELDS as readonly string[]).includes(target)) {
      ignored.push(key);
      continue;
    }
    fields[target as ImportField] = value;
  }

  const attempt = <T>(work: () => T): T | undefined => {
    try {
      return work();
    } catch (error) {
      if (!(error instanceof FieldProblem)) throw error;
      errors.push({ field: error.field, message: error.message });
      return undefined;
    }
  };

  const row: Partial<ImportRow> = {};
  attempt(() => {
    const raw = text(fields.email, 'email', 1000);
    if (raw === null) throw problem('email', 'email is required');
    const email = normalizeEmail(raw);
    const why = emailProblem(email);
    if (why) throw problem('email', why);
    row.email = email;
  });
  attempt(() => {
    const id = text(fields.id, 'id', 200);
    const externalId = text(fields.externalId, 'externalId', 200);
    if (id !== null && isUUID(id)) row.id = id.toLowerCase();
    else if (id !== null) {
      if (externalId !== null && externalId !== id) {
        throw problem('id', 'id is not a UUID and differs from externalId');
      }
      row.externalId = id;
    }
    if (externalId !== null) row.externalId = externalId;
    else if ('externalId' in fields && row.externalId === undefined) row.externalId = null;
  });
  attempt(() => {
    if (!('username' in fields)) return;
    const raw = text(fields.username, 'username', 200);
    if (raw === null) {
      row.username = null;
      return;
    }
    const username = normalizeUsername(raw);
    const why = usernameProblem(username);
    if (why) throw problem('username', why);
    row.username = username;
  });
  for (const field of ['firstName', 'lastName'] as const) {
    attempt(() => {
      if (field in fields) row[field] = text(fields[field], field, 100);
    });
  }
  attempt(() => {
    if (isBlank(fields.role)) return;
    // Flask-Security keeps a list of role names: an "admin" among them makes an ADMIN.
    if (Array.isArray(fields.role)) {
      const names = fields.role.map((r) =>
        String((r as { name?: unknown })?.name ?? r).toLowerCase(),
      );
      row.role = names.includes('admin') ? 'ADMIN' : 'USER';
      return;
    }
    const role = String(fields.role).trim().toUpperCase();
    if (!(ROLES as readonly string[]).includes(role)) {
      throw problem('role', `role must be one of ${ROLES.join(', ')}`);
    }
    row.role = role as Role;
  });
  for (const field of ['active', 'emailVerified'] as const) {
    attempt(() => {
      const value = bool(fields[field], field);
      if (value !== undefined) row[field] = value;
    });
  }
  for (const field of ['createdAt', 'updatedAt'] as const) {
    attempt(() => {
      const value = date(fields[field], field);
      if (value) row[field] = value;
    });
  }
  attempt(() => {
    if ('lastLoginAt' in fields) row.lastLoginAt = date(fields.lastLoginAt, 'lastLoginAt');
  });
  attempt(() => {
    const raw = isBlank(fields.passwordHash) ? null : fields.passwordHash;
    if (raw !== null && typeof raw !== 'string') {
      throw problem('passwordHash', 'passwordHash must be text');
    }
    // Left out, it is checked by the batch: a new user needs one, an update keeps theirs.
    if (raw === null) return;
    let hash: string = raw.trim();
    if (options.flaskSecurity && /^\$2[aby]\$/.test(hash)) {
      hash = FLASK_SECURITY_PREFIX + hash;
    }
    if (hash === NO_PASSWORD || (hash.length <= MAX_HASH_LENGTH && hashScheme(hash))) {
      row.passwordHash = hash;
      return;
    }
    const why =
      'passwordHash is not a hash format authkit can verify (docs/migration.md lists them)';
    if (!options.allowNoPassword) {
      throw problem('passwordHash', `${why}; --allow-no-password imports the user without one`);
    }
    row.passwordHash = NO_PASSWORD;
    warnings.push({ field: 'passwordHash', message: `${why}: imported without a password` });
  });

  if (errors.length > 0) return { errors };
  return { row: row as ImportRow, warnings, ignored };
}

// ---------------------------------------------------------------------------------------
// Readers: each yields the records of a stream with the line each starts on.

export interface SourceRecord {
  line: number;
  record?: unknown;
  /** The record could not be read at all (bad JSON, wrong number of CSV cells...). */
  error?: string;
}

export class ImportFormatError extends Error {}

export async function* readRecords(
  input: Readable,
  format: ImportFormat,
): AsyncGenerator<SourceRecord> {
  // Text, whatever the stream gives (bytes cut inside a UTF-8 sequence are joined).
  const text = Readable.from(decoded(input));
  if (format === 'ndjson') yield* readNdjson(text);
  else if (format === 'json') yield* readJsonArray(text);
  else yield* readCsv(text);
}

async function* decoded(input: AsyncIterable<unknown>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  for await (const chunk of input) {
    const piece = typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer);
    if (piece) yield piece;
  }
  const rest = decoder.end();
  if (rest) yield rest;
}

/** The format a file name suggests, for the CLI's default. */
export function formatOfName(name: string): ImportFormat | undefined {
  if (/\.(nd)?jsonl?$/i.test(name) && !/\.json$/i.test(name)) return 'ndjson';
  if (/\.ndjson$/i.test(name)) return 'ndjson';
  if (/\.json$/i.test(name)) return 'json';
  if (/\.csv$/i.test(name)) return 'csv';
  return undefined;
}

async function* readNdjson(input: Readable): AsyncGenerator<SourceRecord> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line += 1;
    const trimmed = (line === 1 ? text.replace(/^\uFEFF/, '') : text).trim();
    if (trimmed === '') continue;
    try {
      yield { line, record: JSON.parse(trimmed) as unknown };
    } catch {
      yield { line, error: 'not valid JSON' };
    }
  }
}

/**
 * A JSON array read element by element (`mongoexport --jsonArray`): each top-level element
 * is cut out by tracking strings and nesting, then parsed alone.
 */
async function* readJsonArray(input: Readable): AsyncGenerator<SourceRecord> {
  let state: 'start' | 'between' | 'element' | 'end' = 'start';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let element = '';
  let line = 1;
  let elementLine = 1;
  let first = true;
  for await (const chunk of input as AsyncIterable<string>) {
    let from = 0;
    for (let i = 0; i < chunk.length; i += 1) {
      const c = chunk[i];
      if (state === 'element') {
        if (c === '\n') line += 1;
        if (inString) {
          if (escaped) escaped = false;
          else if (c === '\\') escaped = true;
          else if (c === '"') inString = false;
          continue;
        }
        if (c === '"') inString = true;
        else if (c === '{' || c === '[') depth += 1;
        else if (c === '}' || c === ']') {
          depth -= 1;
          if (depth === 0) {
            element += chunk.slice(from, i + 1);
            state = 'between';
            yield parseElement(element, elementLine);
            element = '';
          }
        }
        continue;
      }
      if (c === '\n') line += 1;
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || (first && c === '\uFEFF')) {
        first = false;
        continue;
      }
      first = false;
      if (state === 'start') {
        if (c !== '[') throw new ImportFormatError(`line ${line}: a JSON array must start with [`);
        state = 'between';
      } else if (state === 'between') {
        if (c === ',') continue;
        if (c === ']') {
          state = 'end';
          continue;
        }
        if (c !== '{') {
          throw new ImportFormatError(`line ${line}: every element of the array must be an object`);
        }
        state = 'element';
        depth = 1;
        elementLine = line;
        from = i;
      } else {
        throw new ImportFormatError(`line ${line}: text after the end of the array`);
      }
    }
    if (state === 'element') element += chunk.slice(from);
    if (element.length > 1_048_576) {
      throw new ImportFormatError(`line ${elementLine}: a record longer than 1 MiB`);
    }
  }
  if ((state as string) !== 'end')
    throw new ImportFormatError('the JSON array is not closed (truncated file?)');
}

function parseElement(text: string, line: number): SourceRecord {
  try {
    return { line, record: JSON.parse(text) as unknown };
  } catch {
    return { line, error: 'not valid JSON' };
  }
}

/**
 * CSV (RFC 4180: quoted fields, `""` inside quotes, CRLF or LF) with a header row; an
 * empty cell is a field left out. `\copy ... CSV HEADER` and MySQL Workbench write this.
 */
async function* readCsv(input: Readable): AsyncGenerator<SourceRecord> {
  let header: string[] | undefined;
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let quoteSeen = false; // the previous character was a quote inside a quoted cell
  let line = 1;
  let recordLine = 1;
  let any = false;
  const finish = (): SourceRecord | undefined => {
    cells.push(cell);
    const row = cells;
    cells = [];
    cell = '';
    const startedOn = recordLine;
    recordLine = line;
    if (row.length === 1 && row[0] === '') return undefined; // a blank line
    if (!header) {
      header = row.map((name, i) => (i === 0 ? name.replace(/^\uFEFF/, '') : name).trim());
      return undefined;
    }
    if (row.length !== header.length) {
      return {
        line: startedOn,
        error: `${row.length} cells where the header has ${header.length}`,
      };
    }
    const record: Record<string, string> = {};
    header.forEach((name, i) => {
      if (row[i] !== '') record[name] = row[i]!;
    });
    return { line: startedOn, record };
  };
  for await (const chunk of input as AsyncIterable<string>) {
    for (let i = 0; i < chunk.length; i += 1) {
      const c = chunk[i];
      any = true;
      if (quoted) {
        if (quoteSeen) {
          quoteSeen = false;
          if (c === '"') {
            cell += '"';
            continue;
          }
          quoted = false; // the quote closed the cell; c is read below
        } else if (c === '"') {
          quoteSeen = true;
          continue;
        } else {
          if (c === '\n') line += 1;
          cell += c;
          continue;
        }
      }
      if (c === '"' && cell === '') quoted = true;
      else if (c === ',') {
        cells.push(cell);
        cell = '';
      } else if (c === '\n') {
        line += 1;
        const done = finish();
        if (done) yield done;
      } else if (c !== '\r') cell += c;
      if (cell.length > 1_048_576)
        throw new ImportFormatError(`line ${line}: a cell longer than 1 MiB`);
    }
  }
  if (quoted && !quoteSeen)
    throw new ImportFormatError(`line ${recordLine}: a quoted cell is not closed`);
  if (any && (cell !== '' || cells.length > 0)) {
    const done = finish();
    if (done) yield done;
  }
  if (!header) throw new ImportFormatError('the CSV file has no header row');
}

// ---------------------------------------------------------------------------------------
// The run: batches of checked rows, written (or, in a dry run, checked and rolled back).

export interface BatchRow {
  line: number;
  row: ImportRow;
}

export type RowOutcome = 'inserted' | 'updated' | 'skipped';

/** What the database side answers for one batch (all of it written, or none). */
export type BatchResult =
  | { ok: true; outcomes: { line: number; outcome: RowOutcome; userId: string }[] }
  | { ok: false; errors: { line: number; message: string }[] };

export interface WriteSettings {
  onConflict: ConflictMode;
  dryRun: boolean;
  options: Pick<ImportOptions, 'allowNoPassword'>;
}

export interface ImportWriter {
  writeBatch(rows: BatchRow[], settings: WriteSettings): Promise<BatchResult>;
}

export interface ReportEntry {
  line: number;
  outcome: RowOutcome | 'error' | 'not written' | 'warning';
  userId?: string;
  field?: string;
  message?: string;
}

export interface ImportReport {
  dryRun: boolean;
  rows: number;
  inserted: number;
  updated: number;
  skipped: number;
  /** Rows refused (bad value, duplicate in the file, conflict with `fail`...). */
  errors: number;
  /** Good rows not written because another row of their batch was refused. */
  notWritten: number;
  failedBatches: { firstLine: number; lastLine: number }[];
  warnings: number;
  /** Source fields that are not import fields (ignored; `--map` them to keep them). */
  ignoredFields: string[];
}

export interface RunSettings {
  format: ImportFormat;
  options: ImportOptions;
  onConflict: ConflictMode;
  dryRun: boolean;
  batchSize: number;
}

export interface RunHooks {
  /** Every row's outcome, errors and warnings (in line order within a batch). */
  onEntry?(entry: ReportEntry): void;
  /** After each batch, with the rows read so far. */
  onProgress?(rowsDone: number): void;
}

/**
 * A 53-bit digest per key (first bytes of SHA-1): the duplicate check of a million-row
 * file then holds numbers, not strings. A clash (odds ~1e-4 at a million rows) would
 * report a false duplicate, naming the line it clashed with, never a silent skip.
 */
function digest(kind: string, value: string): number {
  const h = createHash('sha1').update(kind).update('\0').update(value).digest();
  return h.readUIntBE(0, 6) * 32 + (h[6] >> 3);
}

export async function runImport(
  input: Readable,
  settings: RunSettings,
  writer: ImportWriter,
  hooks: RunHooks = {},
): Promise<ImportReport> {
  const report: ImportReport = {
    dryRun: settings.dryRun,
    rows: 0,
    inserted: 0,
    updated: 0,
    skipped: 0,
    errors: 0,
    notWritten: 0,
    failedBatches: [],
    warnings: 0,
    ignoredFields: [],
  };
  const ignored = new Set<string>();
  const seen = new DigestLines();
  let batch: BatchRow[] = [];
  let batchErrors: ReportEntry[] = [];
  let batchFirstLine = 0;
  let batchLastLine = 0;
  let batchCount = 0;

  const emit = (entry: ReportEntry) => hooks.onEntry?.(entry);

  const flush = async () => {
    if (batchCount === 0) return;
    const result: BatchResult =
      batchErrors.length === 0
        ? await writer.writeBatch(batch, settings)
        : { ok: false, errors: [] };
    if (result.ok) {
      for (const o of result.outcomes) {
        report[o.outcome] += 1;
        emit({ line: o.line, outcome: o.outcome, userId: o.userId });
      }
    } else {
      // One entry per refused row, its problems joined.
      const refused = new Map<number, ReportEntry>();
      const refuse = (e: ReportEntry) => {
        const before = refused.get(e.line);
        if (!before) refused.set(e.line, { ...e });
        else {
          const first = before.field ? `${before.field}: ${before.message}` : before.message;
          const next = e.field ? `${e.field}: ${e.message}` : e.message;
          before.message = `${first}; ${next}`;
          delete before.field;
        }
      };
      batchErrors.forEach(refuse);
      for (const e of result.errors) refuse({ line: e.line, outcome: 'error', message: e.message });
      report.errors += refused.size;
      report.failedBatches.push({ firstLine: batchFirstLine, lastLine: batchLastLine });
      const entries = [...refused.values()];
      for (const { line } of batch) {
        if (!refused.has(line)) {
          report.notWritten += 1;
          entries.push({
            line,
            outcome: 'not written',
            message: `another row of its batch (lines ${batchFirstLine}-${batchLastLine}) was refused`,
          });
        }
      }
      entries.sort((a, b) => a.line - b.line).forEach(emit);
    }
    batch = [];
    batchErrors = [];
    batchCount = 0;
    hooks.onProgress?.(report.rows);
  };

  for await (const item of readRecords(input, settings.format)) {
    report.rows += 1;
    if (batchCount === 0) batchFirstLine = item.line;
    batchLastLine = item.line;
    batchCount += 1;
    const parsed: ParsedRecord = item.error
      ? { errors: [{ message: item.error }] }
      : parseImportRecord(item.record, settings.options);
    if ('errors' in parsed) {
      for (const e of parsed.errors) batchErrors.push({ line: item.line, outcome: 'error', ...e });
    } else {
      for (const name of parsed.ignored) ignored.add(name);
      const { row } = parsed;
      const keys: [string, string | null | undefined][] = [
        ['email', row.email],
        ['username', row.username],
        ['id', row.id],
        ['externalId', row.externalId],
      ];
      let duplicate: string | undefined;
      for (const [kind, value] of keys) {
        if (value === undefined || value === null) continue;
        const key = digest(kind, value);
        const earlier = seen.get(key);
        if (earlier !== undefined) {
          duplicate ??= `${kind} is the same as on line ${earlier} (after normalization)`;
        } else seen.set(key, item.line);
      }
      if (duplicate) {
        batchErrors.push({ line: item.line, outcome: 'error', field: 'email', message: duplicate });
      } else {
        batch.push({ line: item.line, row });
        for (const w of parsed.warnings) {
          report.warnings += 1;
          emit({ line: item.line, outcome: 'warning', ...w });
        }
      }
    }
    if (batchCount >= settings.batchSize) await flush();
  }
  await flush();
  report.ignoredFields = [...ignored].sort();
  return report;
}

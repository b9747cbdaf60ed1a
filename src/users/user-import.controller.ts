import { Controller, HttpCode, Post, Query, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Readable } from 'node:stream';
import type { Principal } from '../common/auth/principal.js';
import type { User } from './entities/user.entity.js';
import { CurrentUser } from '../common/decorators/current-user.decorator.js';
import { RequiresRecentAuth } from '../common/decorators/recent-auth.decorator.js';
import { Roles } from '../common/decorators/roles.decorator.js';
import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { ApiProblems } from '../common/http/api-problems.decorator.js';
import { Client, type ClientInfo } from '../common/http/client-info.js';
import { TransactionHost, type TypeOrmTx } from '../database/transactions.js';
import {
  ImportReportDto,
  ImportUsersQueryDto,
  type ImportRowResultDto,
} from './dto/import-users.dto.js';
import { ImportFormatError, runImport } from './user-import.js';
import { UserImportWriter, type ImportStores } from './user-import-writer.js';
import { UsersRepository } from './users.repository.js';
import { SessionsRepository } from '../sessions/sessions.repository.js';
import { AuditService } from '../audit/audit.service.js';

/** Largest NDJSON body streamed by `POST /api/users/import`; the CLI has no limit. */
export const IMPORT_BODY_LIMIT = 16 * 1024 * 1024;
/** Entries of the per-row report kept in the answer (the counts cover every row). */
const MAX_RESULTS = 100_000;

/** Stops reading past `limit` bytes with 413. */
function limited(body: Readable, limit: number): Readable {
  let bytes = 0;
  return Readable.from(
    (async function* () {
      for await (const chunk of body as AsyncIterable<Buffer | string>) {
        bytes += Buffer.byteLength(chunk);
        if (bytes > limit) {
          throw new AppError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            `An import body may hold at most ${limit} bytes; use npm run import-users for more. The batches before this point were written.`,
          );
        }
        yield chunk;
      }
    })(),
  );
}

@ApiTags('users')
@ApiBearerAuth()
@Controller('api/users')
export class UserImportController {
  private readonly stores: ImportStores;

  constructor(
    private readonly txHost: TransactionHost<TypeOrmTx>,
    users: UsersRepository,
    sessions: SessionsRepository,
    audit: AuditService,
  ) {
    this.stores = { users, sessions, audit };
  }

  /**
   * Imports users with the password hashes they have (docs/migration.md), as
   * `npm run import-users` does: NDJSON (`application/x-ndjson`, streamed, at most 16 MiB)
   * or a JSON array (`application/json`, within `BODY_LIMIT`). Rows are written in
   * transactional batches of 1,000; a refused row fails only its batch. The answer is the
   * report, with one entry per row.
   */
  @Post('import')
  @Roles('ADMIN')
  @RequiresRecentAuth()
  @HttpCode(200)
  @ApiOperation({
    operationId: 'importUsers',
    summary: 'Import users (admin)',
    description:
      'NDJSON (`application/x-ndjson`, streamed, at most 16 MiB) or a JSON array of users (`application/json`, within `BODY_LIMIT`), fields as `npm run import-users` reads them (docs/migration.md): `email` (required), `id` (a UUID is kept, any other id becomes `externalId`), `username`, `firstName`, `lastName`, `role`, `active`, `emailVerified`, `createdAt`, `updatedAt`, `lastLoginAt`, `passwordHash` (Werkzeug, passlib, bcrypt, Flask-Security, Django, argon2; re-hashed to argon2id at the first login). MongoDB Extended JSON is understood. Written in transactional batches of 1,000: a refused row fails its batch only. No email is sent.',
  })
  @ApiConsumes('application/x-ndjson', 'application/json')
  @ApiBody({
    schema: { type: 'array', items: { type: 'object', additionalProperties: true } },
    examples: {
      json: {
        summary: 'Two users from a Flask app',
        value: [
          {
            _id: { $oid: '507f1f77bcf86cd799439011' },
            email: 'ada@example.com',
            passwordHash: 'pbkdf2:sha256:600000$salt$hex',
          },
          { id: 42, email: 'grace@example.com', passwordHash: '$2b$12$...' },
        ],
      },
    },
  })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    ErrorCode.PAYLOAD_TOO_LARGE,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.FORBIDDEN,
    ErrorCode.REAUTH_REQUIRED,
  )
  async import(
    @CurrentUser() caller: Principal<User>,
    @Query() query: ImportUsersQueryDto,
    // The body as parsed (a stream for NDJSON, the array for JSON), past the DTO pipe, which
    // takes only objects; each record is checked by `parseImportRecord`.
    @Req() request: FastifyRequest,
    @Client() client: ClientInfo,
  ): Promise<ImportReportDto> {
    const body: unknown = request.body;
    let input: Readable;
    let format: 'ndjson' | 'json';
    if (body instanceof Readable) {
      input = limited(body, IMPORT_BODY_LIMIT);
      format = 'ndjson';
    } else if (Array.isArray(body)) {
      input = Readable.from([JSON.stringify(body)]);
      format = 'json';
    } else {
      throw new AppError(
        ErrorCode.VALIDATION_FAILED,
        'Send a JSON array of users (application/json) or one user per line (application/x-ndjson).',
      );
    }
    const results: ImportRowResultDto[] = [];
    const writer = new UserImportWriter(this.txHost, this.stores, {
      source: 'api',
      actorId: caller.user.id,
      ip: client.ip,
      userAgent: client.userAgent,
      requestId: client.requestId ?? undefined,
    });
    try {
      const report = await runImport(
        input,
        {
          format,
          options: {
            map: new Map(),
            allowNoPassword: query.allowNoPassword,
            flaskSecurity: query.flaskSecurity,
          },
          onConflict: query.onConflict,
          dryRun: query.dryRun,
          batchSize: 1000,
        },
        writer,
        { onEntry: (entry) => void (results.length < MAX_RESULTS && results.push(entry)) },
      );
      return Object.assign(new ImportReportDto(), report, { results });
    } catch (error) {
      if (error instanceof ImportFormatError) {
        throw new AppError(
          ErrorCode.VALIDATION_FAILED,
          `The body cannot be read: ${error.message}. The batches before that point were written.`,
        );
      }
      throw error;
    }
  }
}

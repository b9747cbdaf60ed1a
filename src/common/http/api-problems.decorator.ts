import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';
import { DEFAULT_DETAIL, ERROR_STATUS, ErrorCode } from '../errors/error-code.js';
import { ProblemDto } from './problem.dto.js';

/**
 * Documents the problem+json responses a route can give, one example per error code,
 * grouped by status. (`X-Request-Id` on every response and `Retry-After` on every 429 are
 * added to the whole document by `buildOpenApiDocument`.)
 */
export function ApiProblems(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return applyDecorators(
    ApiExtraModels(ProblemDto),
    ...[...byStatus].map(([status, statusCodes]) =>
      ApiResponse({
        status,
        description: `${STATUS_CODES[status]}: ${statusCodes.join(', ')}`,
        content: {
          'application/problem+json': {
            schema: { $ref: getSchemaPath(ProblemDto) },
            examples: Object.fromEntries(
              statusCodes.map((code) => [
                code,
                {
                  value: {
                    type: 'about:blank',
                    title: STATUS_CODES[status],
                    status,
                    detail: DEFAULT_DETAIL[code],
                    code,
                    requestId: 'b6c1e7a2-4a0b-4a53-9c55-6f2f1d0b7c11',
                  },
                },
              ]),
            ),
          },
        },
      }),
    ),
  );
}

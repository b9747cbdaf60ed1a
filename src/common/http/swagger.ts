import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { REFRESH_COOKIE } from '../../auth/refresh-transport.js';

/** The OpenAPI document, generated from the controllers' and DTOs' decorators. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Auth service')
    .setDescription(
      [
        'Registration, login, rotating refresh tokens, sessions, account recovery and user administration.',
        '',
        'Errors are RFC 9457 problem documents (`application/problem+json`) with a stable `code`.',
        'Access tokens are ES256 JWTs (`typ: at+jwt`); their public keys are at `/.well-known/jwks.json`.',
        '`401` always means "no valid access token": refresh or log in again.',
        '',
        'Refresh tokens travel in JSON bodies by default. With `REFRESH_TOKEN_TRANSPORT=cookie` they travel only in the HttpOnly `refresh_token` cookie (`Path=/api/auth`, `SameSite=Strict`), and refresh and logout by cookie must echo the readable `XSRF-TOKEN` cookie in an `X-XSRF-TOKEN` header (`403 FORBIDDEN` otherwise).',
      ].join('\n'),
    )
    .setVersion('1.0.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .addCookieAuth(
      REFRESH_COOKIE,
      {
        type: 'apiKey',
        description:
          'Cookie transport only (`REFRESH_TOKEN_TRANSPORT=cookie`): the refresh token, set by login and refresh (HttpOnly). Requests it authenticates must also send `X-XSRF-TOKEN` equal to the `XSRF-TOKEN` cookie.',
      },
      REFRESH_COOKIE,
    )
    .build();
  return SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controller, method) => method,
  });
}

export function mountSwagger(app: INestApplication): void {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
    swaggerOptions: { persistAuthorization: false },
  });
}

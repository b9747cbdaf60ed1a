import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Logger, PinoLogger } from 'nestjs-pino';
import { register } from 'prom-client';
import { AppModule } from './app.module.js';
import { sendProblem } from './common/errors/send-problem.js';
import { answerClientError } from './common/errors/client-error.js';
import {
  baselineSecurityHeaders,
  configureBrowserSecurity,
} from './common/http/browser-security.js';
import { configureFastify } from './common/http/fastify-setup.js';
import { requestIdFor } from './common/http/request-id.js';
import {
  ClosingAwareFastifyAdapter,
  refuseNewRequestsWhenClosing,
} from './common/http/shutdown-gate.js';
import { mountSwagger } from './swagger.js';
import { AppValidationPipe } from './common/http/validation.pipe.js';
import type { AppConfig } from './config/app-config.js';
import { logRequests } from './logging/request-log.js';
import { instrumentHttp } from './metrics/http-metrics.js';
import { mountHostedPages } from './pages/hosted-pages.js';

const frameworkLogger = new NestLogger('Http');

/** Builds the whole application (not yet listening) on a database URL. */
export async function createApp(
  config: AppConfig,
  databaseUrl: string,
): Promise<NestFastifyApplication> {
  const securityHeaders = baselineSecurityHeaders(config);
  // X-Request-Id and the security headers, set on the raw response before anything else
  // runs, so that every later answer keeps them (a CORS preflight, a router error...);
  // @fastify/helmet then sets each route's own (the docs CSP).
  const putContractHeaders = (request: FastifyRequest, reply: FastifyReply) => {
    for (const [name, value] of Object.entries(securityHeaders)) reply.raw.setHeader(name, value);
    reply.raw.setHeader('x-request-id', request.id);
  };
  const adapter = new ClosingAwareFastifyAdapter({
    bodyLimit: config.bodyLimit,
    trustProxy: typeof config.trustProxy === 'object' ? [...config.trustProxy] : config.trustProxy,
    requestIdHeader: false,
    genReqId: (request: IncomingMessage) => {
      // Also stored on the raw request, where the request log line reads it.
      const id = requestIdFor(request);
      (request as IncomingMessage & { id: string }).id = id;
      return id;
    },
    // Replaced by refuseNewRequestsWhenClosing, which answers with a problem document.
    return503OnClosing: false,
    // A URL the router refuses before any hook runs (a path parameter over 100 characters,
    // a broken percent-encoding) gets a problem document too: 400 VALIDATION_FAILED.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      putContractHeaders(request, reply);
      sendProblem(error, request, reply, frameworkLogger);
    },
    // A request Node's HTTP parser refuses (headers over 16 KiB: 431; a malformed request
    // line: 400) gets a problem document with the same headers.
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Socket) => {
      answerClientError(error, socket, securityHeaders);
    },
  });
  // The adapter's first request hook: before its CORS hook, which answers preflights.
  adapter.setOnRequestHook((request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    putContractHeaders(request, reply);
    done();
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, databaseUrl),
    adapter,
    { bufferLogs: true, abortOnError: false, bodyParser: false },
  );
  const logger = app.get(Logger);
  app.useLogger(logger);
  app.flushLogs();
  const fastify = app.getHttpAdapter().getInstance();
  configureFastify(fastify);
  logRequests(fastify, PinoLogger.root);
  if (config.metricsEnabled) instrumentHttp(fastify, register);
  app.useGlobalPipes(new AppValidationPipe());
  await configureBrowserSecurity(app, config);
  // After the security headers' hooks, so that the 503 of a closing server carries them too.
  refuseNewRequestsWhenClosing(fastify, adapter);
  mountSwagger(app);
  if (config.hostedPages) await mountHostedPages(app);
  return app;
}

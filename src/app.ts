import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { Logger, PinoLogger } from 'nestjs-pino';
import { register } from 'prom-client';
import { AppModule } from './app.module.js';
import { sendProblem } from './common/errors/send-problem.js';
import { configureBrowserSecurity } from './common/http/browser-security.js';
import { configureFastify } from './common/http/fastify-setup.js';
import { requestIdFor } from './common/http/request-id.js';
import {
  ClosingAwareFastifyAdapter,
  refuseNewRequestsWhenClosing,
} from './common/http/shutdown-gate.js';
import { mountSwagger } from './common/http/swagger.js';
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
      void reply.header('x-request-id', request.id);
      sendProblem(error, request, reply, frameworkLogger);
    },
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

/**
 * `npm run openapi`: writes openapi.json from the decorators, without a database or a
 * listening server (Nest's preview mode builds the module graph without running any
 * provider factory). The file is committed; test/openapi.test.ts fails when it is stale.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppModule } from '../app.module.js';
import { buildOpenApiDocument } from '../swagger.js';
import { loadConfig } from '../config/app-config.js';

const target = resolve(process.argv[2] ?? 'openapi.json');
const config = loadConfig({ NODE_ENV: 'development', PUBLIC_URL: 'http://localhost:3000' });
const app = await NestFactory.create<NestFastifyApplication>(
  AppModule.forRoot(config, 'postgres://unused@127.0.0.1:1/unused'),
  new FastifyAdapter(),
  { preview: true, logger: false, abortOnError: false },
);
const document = buildOpenApiDocument(app);
writeFileSync(target, JSON.stringify(document, null, 2) + '\n');
process.stdout.write(`Wrote ${target} (${Object.keys(document.paths).length} paths)\n`);
await app.close();

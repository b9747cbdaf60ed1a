// docker-compose.yml and the Dockerfile against the app, without a Docker engine: the
// compose environment passes the production configuration rules, ports and health checks
// are the app's, images are pinned to a major version, the runtime stage has production
// dependencies only and a non-root user, start-up is health-gated, the database volume is named.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ConfigError, loadConfig } from '../src/config/app-config.js';
import { envSchema } from '../src/config/config.schema.js';
import { parseDuration } from '../src/config/duration.js';
import { ROOT } from './support/server.js';

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  ports?: string[];
  environment?: Record<string, string | number | boolean | null>;
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string };
  volumes?: string[];
  stop_grace_period?: string;
}

const compose = parseYaml(read('docker-compose.yml')) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const dockerfile = DockerfileParser.parse(read('Dockerfile'));
const app = compose.services.app;

/** What a user who set nothing gets: `${VAR:-default}` is its default, `${VAR:?...}` a stand-in. */
const REQUIRED_STAND_INS: Record<string, string> = {
  JWT_PRIVATE_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString(),
};
const requiredByCompose = new Set<string>();

/** Docker Compose interpolation of one value, with no variable set in the shell or .env. */
function interpolate(value: string): string {
  return value.replace(
    /\$\$|\$\{(\w+)(?:(:?)([-?])([^}]*))?\}|\$(\w+)/g,
    (whole, braced?: string, _colon?: string, op?: string, arg?: string, bare?: string) => {
      if (whole === '$$') return '$';
      const name = braced ?? bare!;
      if (op === '?') {
        requiredByCompose.add(name);
        return REQUIRED_STAND_INS[name] ?? `stand-in-for-${name}`;
      }
      if (op === '-') return arg ?? '';
      return '';
    },
  );
}

const composeEnv: Record<string, string> = Object.fromEntries(
  Object.entries(app.environment ?? {}).map(([k, v]) => [k, interpolate(String(v ?? ''))]),
);

/** The runtime (last) stage's instructions. */
const stages: Instruction[][] = [];
for (const instruction of dockerfile.getInstructions()) {
  if (instruction.getKeyword() === 'FROM') stages.push([]);
  stages.at(-1)?.push(instruction);
}
const runtime = stages.at(-1) ?? [];
const build = stages[0] ?? [];
const of = (stage: Instruction[], keyword: string) =>
  stage.filter((i) => i.getKeyword() === keyword);
const args = (i: Instruction) => i.getArguments().map((a) => a.getValue());

const imageEnv: Record<string, string> = Object.fromEntries(
  dockerfile
    .getENVs()
    .filter((env) => runtime.includes(env))
    .flatMap((env) => env.getProperties().map((p) => [p.getName(), p.getValue() ?? ''])),
);
/** The server's environment in the stack: the image's ENV, overridden by compose. */
const stackEnv = { ...imageEnv, ...composeEnv };

describe('docker-compose.yml: configuration', () => {
  it('passes the production configuration rules of the app (loadConfig)', () => {
    expect(stackEnv.NODE_ENV).toBe('production');
    const config = loadConfig(stackEnv);
    expect(config.isProduction).toBe(true);
    expect(config.jwt.privateKeyPem).toBe(REQUIRED_STAND_INS.JWT_PRIVATE_KEY);
  });

  it('sets every variable without which production start-up fails', () => {
    // Derived from the config rules: drop each variable in turn and see whether loadConfig refuses.
    const required = Object.keys(envSchema.shape).filter((name) => {
      const rest: Record<string, string | undefined> = { ...stackEnv, [name]: undefined };
      try {
        loadConfig({ ...rest, NODE_ENV: 'production' });
        return false;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        return true;
      }
    });
    expect(required).toContain('JWT_PRIVATE_KEY');
    for (const name of required) expect(composeEnv[name], name).toBeTruthy();
    // A user who forgets one is told so by compose itself (`${NAME:?message}`), unless the
    // stack sets it itself (DATABASE_URL: its own postgres service).
    const setByStack = new Set(['DATABASE_URL']);
    expect(required).toContain('DATABASE_URL');
    for (const name of required) {
      expect(requiredByCompose.has(name) || setByStack.has(name), name).toBe(true);
    }
  });

  it('uses only variables the app knows (no typos)', () => {
    const known = new Set(Object.keys(envSchema.shape));
    expect(Object.keys(composeEnv).filter((name) => !known.has(name))).toEqual([]);
    expect(
      Object.keys(imageEnv).filter((name) => !known.has(name) && name !== 'SCARF_ANALYTICS'),
    ).toEqual([]);
  });

  it('wires PostgreSQL, Redis and Mailpit by service name, with matching credentials', () => {
    const config = loadConfig(stackEnv);
    const db = new URL(config.database.url!);
    expect(db.hostname).toBe('postgres');
    expect(db.port).toBe('5432');
    const pgEnv = compose.services.postgres.environment ?? {};
    expect(decodeURIComponent(db.username)).toBe(pgEnv.POSTGRES_USER);
    expect(decodeURIComponent(db.password)).toBe(pgEnv.POSTGRES_PASSWORD);
    expect(db.pathname.slice(1)).toBe(pgEnv.POSTGRES_DB);

    const redis = new URL(config.redisUrl!);
    expect([redis.hostname, redis.port]).toEqual(['redis', '6379']);

    const smtp = new URL(config.mail.smtpUrl!);
    expect([smtp.hostname, smtp.port]).toEqual(['mailpit', '1025']);
    // Mailpit's web UI (8025) and SMTP (1025) are published.
    expect(compose.services.mailpit.ports?.map(String)).toEqual(
      expect.arrayContaining(['8025:8025', '1025:1025']),
    );
  });

  it('runs PostgreSQL 17, Redis 7 and Mailpit, every image pinned to a major version', () => {
    const images = Object.entries(compose.services).flatMap(([name, s]) =>
      s.image ? [[name, s.image] as const] : [],
    );
    expect(images.map(([name]) => name).sort()).toEqual(['mailpit', 'postgres', 'redis']);
    for (const [name, image] of images) expect(pinnedTag(image), `${name}: ${image}`).toBeTruthy();
    expect(pinnedTag(compose.services.postgres.image!)).toMatch(/^17\b/);
    expect(pinnedTag(compose.services.redis.image!)).toMatch(/^7\b/);
    expect(compose.services.mailpit.image).toMatch(/^axllent\/mailpit:/);
  });

  it('starts the app only once its dependencies are healthy', () => {
    const dependsOn = app.depends_on;
    expect(Array.isArray(dependsOn), 'depends_on must use the long form with conditions').toBe(
      false,
    );
    const entries = Object.entries(dependsOn as Record<string, { condition?: string }>);
    expect(entries.map(([name]) => name).sort()).toEqual(['mailpit', 'postgres', 'redis']);
    for (const [name, { condition }] of entries) {
      expect(condition, name).toBe('service_healthy');
      expect(compose.services[name].healthcheck?.test, `${name} has a healthcheck`).toBeTruthy();
    }
  });

  it('keeps the database in a named volume', () => {
    const mounts = compose.services.postgres.volumes ?? [];
    const data = mounts
      .map((m) => m.split(':'))
      .find(([, target]) => target === '/var/lib/postgresql/data');
    expect(data, 'a volume on /var/lib/postgresql/data').toBeDefined();
    const source = data![0];
    expect(source).not.toMatch(/^[./~]/); // a name, not a host path
    expect(Object.keys(compose.volumes ?? {})).toContain(source);
  });

  it('gives the server longer to stop than its SHUTDOWN_TIMEOUT', () => {
    const config = loadConfig(stackEnv);
    const grace = parseDuration(app.stop_grace_period ?? '10s');
    expect(grace).toBeGreaterThan(config.shutdownTimeoutMs);
  });
});

describe('ports and health checks match the app', () => {
  const openapi = JSON.parse(read('openapi.json'));

  it('listens on all interfaces of the container, on the published and exposed port', () => {
    const config = loadConfig(stackEnv);
    expect(config.host).toBe('0.0.0.0');
    const published = (app.ports ?? []).map((p) => String(p).split(':').at(-1));
    expect(published).toContain(String(config.port));
    const exposed = of(runtime, 'EXPOSE').flatMap(args);
    expect(exposed).toContain(String(config.port));
  });

  it('the image HEALTHCHECK asks the readiness route of this port', () => {
    const config = loadConfig(stackEnv);
    const [healthcheck] = of(runtime, 'HEALTHCHECK');
    expect(healthcheck, 'HEALTHCHECK in the runtime stage').toBeDefined();
    const command = healthcheck.getArgumentsContent() ?? '';
    expect(command).toContain('/health/ready');
    expect(openapi.paths['/health/ready']?.get, 'the app serves GET /health/ready').toBeDefined();
    expect(command).toMatch(/process\.env\.PORT/);
    expect(imageEnv.PORT).toBe(String(config.port));
  });
});

describe('Dockerfile', () => {
  it('pins every base image to a major version', () => {
    const stageNames = new Set<string>();
    for (const from of dockerfile.getFROMs()) {
      const image = from.getImage() ?? '';
      if (!stageNames.has(image)) expect(pinnedTag(image), image).toBeTruthy();
      const stage = from.getBuildStage();
      if (stage) stageNames.add(stage);
    }
  });

  it('builds in a first stage and runs production dependencies only, as a non-root user', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const buildRuns = of(build, 'RUN').map((i) => i.getArgumentsContent() ?? '');
    expect(buildRuns.some((r) => /\bnpm run build\b/.test(r))).toBe(true);

    const runs = of(runtime, 'RUN').map((i) => i.getArgumentsContent() ?? '');
    const installs = runs.filter((r) => /\bnpm (ci|install|i)\b/.test(r));
    expect(installs.length).toBeGreaterThan(0);
    for (const install of installs) expect(install).toMatch(/\bnpm ci\b[^&]*--omit=dev/);

    const users = of(runtime, 'USER').flatMap(args);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0']).not.toContain(users.at(-1)!.split(':')[0]);
  });

  it('copies the whole dist/ from the build stage and starts it as npm run start:prod does', () => {
    const buildStage = dockerfile.getFROMs()[0]?.getBuildStage();
    const workdir = of(build, 'WORKDIR').flatMap(args).at(-1);
    const copies = dockerfile
      .getCOPYs()
      .filter((copy) => runtime.includes(copy))
      .map((copy) => [`--from=${copy.getFromFlag()?.getValue() ?? ''}`, ...args(copy)]);
    expect(copies).toContainEqual([`--from=${buildStage}`, `${workdir}/dist`, './dist']);

    const [cmd] = of(runtime, 'CMD');
    const startProd = JSON.parse(read('package.json')).scripts['start:prod'] as string;
    expect(JSON.parse(cmd.getArgumentsContent() ?? '[]').join(' ')).toBe(startProd);
  });

  it('keeps secrets and local state out of the build context (.dockerignore)', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', '.env', '.data', '.git']) {
      expect(ignored, entry).toContain(entry);
    }
  });
});

/** The tag of `image` when it is pinned to a major version (`17`, `v1`, `20-bookworm-slim`). */
function pinnedTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0];
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  if (colon <= slash) return undefined; // untagged means latest
  const tag = withoutDigest.slice(colon + 1);
  return /^v?\d+([.-][\w.-]+)?$/.test(tag) ? tag : undefined;
}

// GET /metrics: Prometheus text with process defaults, HTTP requests by route template and
// status (bounded labels), and the mail outbox (backlog, deliveries, failures); absent with
// METRICS_ENABLED=false.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register, uniqueEmail } from './support/fixtures.js';
import { expectProblem, sleep } from './support/http.js';
import { cleanup, startServer, type TestServer } from './support/server.js';
import { startSmtpSink, type SmtpSink } from './support/smtp.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (the sample lines; comments skipped). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample of `name` whose labels include `labels` (undefined if none). */
function valueOf(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} is ambiguous`);
  return found[0]?.value;
}

async function scrape(server: TestServer): Promise<Sample[]> {
  const res = await server.api.get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return parseMetrics(res.text);
}

/** Scrapes until `predicate` holds; fails with the last scrape after `timeoutMs`. */
async function eventually(
  server: TestServer,
  what: string,
  predicate: (samples: Sample[]) => boolean,
  timeoutMs = 60_000,
): Promise<Sample[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const samples = await scrape(server);
    if (predicate(samples)) return samples;
    if (Date.now() > deadline) {
      const mail = samples.filter((s) => s.name.startsWith('authkit_mail'));
      throw new Error(`timed out waiting for ${what}; last scrape:\n${JSON.stringify(mail)}`);
    }
    await sleep(250);
  }
}

describe('metrics enabled (the default)', () => {
  let server: TestServer;
  let smtp: SmtpSink;
  beforeAll(async () => {
    smtp = await startSmtpSink();
    server = await startServer({ env: { SMTP_URL: smtp.url } });
  });
  afterAll(async () => {
    await cleanup();
    await smtp.stop();
  });

  it('serves default process and Node.js metrics', async () => {
    const samples = await scrape(server);
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(valueOf(samples, name), name).toBeTypeOf('number');
    }
  });

  it('counts requests and their latency by route template and status', async () => {
    for (let i = 0; i < 3; i++) expect((await server.api.get('/health/live')).status).toBe(200);
    const id = randomUUID();
    expect((await server.api.get(`/api/users/${id}`)).status).toBe(401);

    const samples = await scrape(server);
    const live = { method: 'GET', route: '/health/live', status: '200' };
    expect(valueOf(samples, 'http_requests_total', live)).toBeGreaterThanOrEqual(3);
    expect(valueOf(samples, 'http_request_duration_seconds_count', live)).toBeGreaterThanOrEqual(3);
    expect(
      valueOf(samples, 'http_request_duration_seconds_bucket', { ...live, le: '+Inf' }),
    ).toBeGreaterThanOrEqual(3);
    // The template, never the concrete id.
    expect(
      valueOf(samples, 'http_requests_total', {
        method: 'GET',
        route: '/api/users/:id',
        status: '401',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(samples.some((s) => Object.values(s.labels).some((v) => v.includes(id)))).toBe(false);
  });

  it('puts every unknown path under one "unmatched" label, so scanners cannot explode the series', async () => {
    const before = valueOf(await scrape(server), 'http_requests_total', {
      method: 'GET',
      route: 'unmatched',
      status: '404',
    });
    const tokens = Array.from({ length: 5 }, () => randomBytes(6).toString('hex'));
    for (const token of tokens) {
      expectProblem(await server.api.get(`/scan/${token}/wp-login.php?x=${token}`), 404);
    }
    const samples = await scrape(server);
    const after = valueOf(samples, 'http_requests_total', {
      method: 'GET',
      route: 'unmatched',
      status: '404',
    });
    expect(after).toBe((before ?? 0) + tokens.length);
    const routes = new Set(
      samples.filter((s) => s.name === 'http_requests_total').map((s) => s.labels.route),
    );
    expect(
      [...routes].filter((r) => tokens.some((t) => r.includes(t)) || r.includes('scan')),
    ).toEqual([]);
  });

  it('shows the outbox backlog, retried and abandoned deliveries, and deliveries', async () => {
    const retry = { kind: 'retry', template: 'verify-email' };
    const abandoned = { kind: 'abandoned', template: 'verify-email' };
    const sent = { template: 'verify-email' };
    const start = await scrape(server);
    // Every series exists before its first event.
    expect(valueOf(start, 'authkit_mail_delivery_failures_total', retry)).toBeTypeOf('number');
    expect(valueOf(start, 'authkit_mail_delivery_failures_total', abandoned)).toBeTypeOf('number');
    const retriesBefore = valueOf(start, 'authkit_mail_delivery_failures_total', retry) ?? 0;
    const abandonedBefore = valueOf(start, 'authkit_mail_delivery_failures_total', abandoned) ?? 0;
    const sentBefore = valueOf(start, 'authkit_mail_deliveries_total', sent) ?? 0;

    // SMTP down: the verification email waits in the outbox and its attempts fail.
    await smtp.pause();
    const email = uniqueEmail('metrics');
    await register(server.api, { email });
    await eventually(
      server,
      'a failed attempt and a pending message',
      (s) =>
        (valueOf(s, 'authkit_mail_delivery_failures_total', retry) ?? 0) > retriesBefore &&
        (valueOf(s, 'authkit_mail_outbox_pending') ?? 0) >= 1,
    );

    // SMTP back: delivered, and the backlog drains.
    await smtp.resume();
    await smtp.waitForMail(email, undefined, 60_000);
    await eventually(
      server,
      'the delivery and an empty backlog',
      (s) =>
        (valueOf(s, 'authkit_mail_deliveries_total', sent) ?? 0) > sentBefore &&
        valueOf(s, 'authkit_mail_outbox_pending') === 0,
    );

    // A permanent refusal (550) abandons the message at once.
    smtp.refuseRecipients((address) => address.startsWith('refused-'));
    try {
      await register(server.api, { email: uniqueEmail('refused') });
      await eventually(
        server,
        'an abandoned delivery',
        (s) =>
          (valueOf(s, 'authkit_mail_delivery_failures_total', abandoned) ?? 0) > abandonedBefore &&
          valueOf(s, 'authkit_mail_outbox_pending') === 0,
      );
    } finally {
      smtp.refuseRecipients();
    }
  }, 120_000);
});

describe('METRICS_ENABLED=false', () => {
  afterAll(cleanup);

  it('removes /metrics (404 problem+json)', async () => {
    const server = await startServer({ env: { METRICS_ENABLED: 'false' } });
    expectProblem(await server.api.get('/metrics'), 404, 'NOT_FOUND');
    // Everything else works as usual.
    expect((await server.api.get('/health/ready')).status).toBe(200);
  }, 90_000);
});

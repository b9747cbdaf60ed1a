/** One measured autocannon run, its percentiles, and the report row made of it. */
import autocannon, { type Client, type Result } from 'autocannon';
import { duration, log, warmup } from './options.js';
import { rssMb } from './processes.js';

export interface Row {
  scenario: string;
  rps?: number;
  p50?: number;
  p95?: number;
  p99?: number;
  errors?: number;
  rssMb?: number | null;
  /** What `ratio` compares with, and the target it must meet. */
  baseline?: string;
  ratio?: number;
  target?: string;
  pass?: boolean;
}

/** A measured run: autocannon's counts, percentiles of every answer's latency, RSS at its end. */
export interface Run {
  result: Result;
  rps: number;
  errors: number;
  latency: Latencies;
  rssMb: number | null;
}

export interface Latencies {
  p50: number;
  p95: number;
  p99: number;
}

/** The server whose RSS each run reports (none while the baselines run). */
let measuredPid: number | null = null;
export function measureServer(pid: number | null): void {
  measuredPid = pid;
}

export function row(
  scenario: string,
  run: Run,
  comparison: Pick<Row, 'baseline' | 'ratio' | 'target' | 'pass'> = {},
): Row {
  const result: Row = {
    scenario,
    rps: run.rps,
    p50: run.latency.p50,
    p95: run.latency.p95,
    p99: run.latency.p99,
    errors: run.errors,
    rssMb: run.rssMb,
    ...comparison,
  };
  // A scenario with failed requests does not meet its target, whatever its figures.
  if (result.pass !== undefined) result.pass = result.pass && run.errors === 0;
  log(
    `${scenario}: ${run.rps.toFixed(0)} req/s, p50 ${run.latency.p50.toFixed(2)} ms, ` +
      `p99 ${run.latency.p99.toFixed(2)} ms, errors ${run.errors}` +
      (comparison.ratio !== undefined ? `, ratio ${comparison.ratio.toFixed(2)}` : ''),
  );
  return result;
}

export const within = (value: number, low: number, high: number) => value >= low && value <= high;

/**
 * One autocannon run (after a warm-up unless `warm` is false). Latencies are taken from
 * every answer (autocannon's own percentiles are whole milliseconds), and answers can be
 * told apart by their client's sequence number (`each`).
 */
export async function measure(
  options: autocannon.Options,
  warm = true,
  each?: (client: Client, latencyMs: number, status: number) => void,
): Promise<Run> {
  // autocannon checks for the end of a run at each sample: every 100 ms rather than 1 s.
  options = { sampleInt: 100, ...options };
  if (warm && warmup > 0) await autocannon({ ...options, duration: warmup });
  const latencies: number[] = [];
  const result = await new Promise<Result>((done, fail) => {
    const instance = autocannon({ duration, ...options }, (error: unknown, result: Result) =>
      error ? fail(new Error('autocannon failed', { cause: error })) : done(result),
    );
    instance.on('response', (client, status, _bytes, ms) => {
      latencies.push(ms);
      each?.(client, ms, status);
    });
  });
  return {
    result,
    rps: result.requests.total / result.duration,
    errors: result.errors + result.timeouts + result.non2xx,
    latency: percentiles(latencies),
    rssMb: measuredPid === null ? null : rssMb(measuredPid),
  };
}

export function percentiles(values: number[]): Latencies {
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) =>
    sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : NaN;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

/** A POST of JSON bodies, one made per request by `body`. */
export function postEach(url: string, connections: number, body: () => string): autocannon.Options {
  return {
    url,
    connections,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [{ setupRequest: (request) => ({ ...request, body: body() }) }],
  };
}

/** The server's RSS at the points of the run that matter, and its start-up times. */
import type { Row } from '../lib/measure.js';
import { idleSeconds, log, settleMs, sleep } from '../lib/options.js';
import { rssMb, startApp, stop, type App } from '../lib/processes.js';

/** RSS read during the run, before the restart. */
export interface MemoryReadings {
  fresh: number | null;
  idle: number | null;
  loaded: number | null;
}

/** Stops `app`, starts it again on its migrated database and reports memory and start-up. */
export async function memoryAndStart(
  app: App,
  databaseUrl: string | undefined,
  rss: MemoryReadings,
): Promise<Row[]> {
  log('restart on the migrated database');
  await stop(app.process);
  const restarted = await startApp(databaseUrl, app.dataDir);
  await sleep(settleMs);
  const restartRss = rssMb(restarted.pid);
  await stop(restarted.process);
  return [
    { scenario: `server RSS ${settleMs / 1000} s after its first start (MB)`, rssMb: rss.fresh },
    {
      scenario: `server RSS idle, ${idleSeconds} s after its first start (MB)`,
      rssMb: rss.idle,
      baseline: 'MB',
      ratio: rss.idle ?? undefined,
      target: '≤ 120',
      pass: rss.idle !== null && rss.idle <= 120,
    },
    { scenario: 'server RSS after the load above (MB)', rssMb: rss.loaded },
    { scenario: `server RSS ${settleMs / 1000} s after a restart (MB)`, rssMb: restartRss },
    startRow('start to first 200 on /health/ready, fresh database: migrations, admin (ms)', app),
    startRow('start to first 200 on /health/ready, restart (ms)', restarted),
  ];
}

function startRow(scenario: string, app: App): Row {
  return {
    scenario,
    baseline: 'ms',
    ratio: app.startMs,
    target: '≤ 2000',
    pass: app.startMs <= 2000,
  };
}

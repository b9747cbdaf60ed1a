import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * What the proxy does with traffic:
 * - `pass`: forwards both ways;
 * - `reset`: resets every open connection and each new one at once (ECONNRESET);
 * - `refuse`: resets the open connections and stops listening (ECONNREFUSED), on the same port;
 * - `silent`: accepts, keeps every connection open and forwards nothing (a network partition).
 */
export type ProxyMode = 'pass' | 'reset' | 'refuse' | 'silent';

export interface TcpProxy {
  /** `127.0.0.1:<port>` of the proxy. */
  readonly host: string;
  readonly port: number;
  readonly mode: ProxyMode;
  set(mode: ProxyMode): Promise<void>;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string;
  stop(): Promise<void>;
}

/** A TCP proxy on loopback in front of `target` (`host:port`), for fault tests. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: ProxyMode = 'pass';
  let accepted = 0;
  const pairs = new Set<{ client: Socket; upstream?: Socket }>();
  let server: Server = createServer(onConnection);

  function onConnection(client: Socket): void {
    accepted++;
    client.on('error', () => undefined);
    if (mode === 'reset' || mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const pair: { client: Socket; upstream?: Socket } = { client };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      pair.upstream?.destroy();
    };
    client.on('close', drop);
    const pending: Buffer[] = [];
    client.on('data', (chunk: Buffer) => {
      if (mode !== 'pass') return; // swallowed
      if (pair.upstream?.readyState === 'open') pair.upstream.write(chunk);
      else pending.push(chunk);
    });
    if (mode === 'silent') return; // never connects upstream: nothing ever answers
    const upstream = connect(target.port, target.host);
    pair.upstream = upstream;
    upstream.on('error', () => undefined);
    upstream.on('close', drop);
    upstream.on('connect', () => {
      for (const chunk of pending.splice(0)) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (mode === 'pass' && client.writable) client.write(chunk);
    });
  }

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const port = await listen(0);
  let listening = true;

  const resetAll = () => {
    for (const { client, upstream } of [...pairs]) {
      client.resetAndDestroy();
      upstream?.resetAndDestroy();
    }
    pairs.clear();
  };

  return {
    host: '127.0.0.1',
    port,
    get mode() {
      return mode;
    },
    get accepted() {
      return accepted;
    },
    async set(next: ProxyMode) {
      mode = next;
      if (next === 'reset' || next === 'refuse') resetAll();
      if (next === 'refuse' && listening) {
        listening = false;
        await new Promise<void>((resolve) => server.close(() => resolve()));
      } else if (next !== 'refuse' && !listening) {
        server = createServer(onConnection);
        await listen(port);
        listening = true;
      }
    },
    rewrite(url: string) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    async stop() {
      resetAll();
      if (listening) {
        listening = false;
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

/** The `{ host, port }` of a URL such as `postgres://u@127.0.0.1:5432/db`. */
export function targetOf(url: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname || '127.0.0.1', port: Number(u.port) || defaultPort };
}

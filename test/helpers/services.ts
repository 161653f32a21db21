import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import type { TestContext } from 'node:test';

const IN_CI = process.env.CI === 'true';

/** Resolves true when something accepts TCP connections at host:port within `timeoutMs`. */
export function canConnect(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** A free TCP port on loopback (bound then released). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  srv.close();
  await once(srv, 'close');
  if (addr === null || typeof addr === 'string') throw new Error('could not read a free port');
  return addr.port;
}

async function onPath(cmd: string): Promise<boolean> {
  const child = spawn('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
  const [code] = (await once(child, 'exit')) as [number | null];
  return code === 0;
}

export interface RedisServer {
  url: string;
  port: number;
  /** Stop the server (SIGTERM, waits for exit). */
  stop(): Promise<void>;
  /** Start it again on the same port (after stop). */
  start(): Promise<void>;
  /** The running server's process id (for benchmarks that read its CPU time). */
  pid(): number | undefined;
}

/**
 * Start a private redis-server on a free loopback port (for tests that stop and restart Redis,
 * which must never touch a shared server). Without `dataDir` it keeps nothing on disk. `args` come
 * last on its command line, so they override the persistence settings.
 * Throws when redis-server is not installed.
 */
export async function startRedisServer(opts: { dataDir?: string; args?: string[] } = {}): Promise<RedisServer> {
  if (!(await onPath('redis-server'))) throw new Error('redis-server is not installed (apt-get install redis-server)');
  const port = await freePort();
  const persistence =
    opts.dataDir === undefined
      ? ['--save', '', '--appendonly', 'no']
      : ['--dir', opts.dataDir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'];
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', ...persistence, ...(opts.args ?? [])], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!(await canConnect('127.0.0.1', port))) {
      if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null) return;
    const exited = once(c, 'exit');
    c.kill('SIGTERM');
    await exited;
  };
  process.once('exit', () => child?.kill('SIGKILL'));
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, stop, start, pid: () => child?.pid };
}

let sharedRedis: Promise<string | undefined> | undefined;

async function findOrStartRedis(): Promise<string | undefined> {
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  if (await canConnect('127.0.0.1', 6379)) return 'redis://127.0.0.1:6379';
  if (await onPath('redis-server')) return (await startRedisServer()).url;
  return undefined;
}

/**
 * The Redis URL for integration tests: REDIS_URL, else a server on 127.0.0.1:6379, else one we
 * start. Where none can be had the test is skipped with the reason, except under CI=true where
 * a missing Redis is a failure.
 */
export async function redisUrlOrSkip(t: TestContext): Promise<string | undefined> {
  sharedRedis ??= findOrStartRedis();
  const url = await sharedRedis;
  if (url !== undefined) return url;
  const why = 'Redis is not available: set REDIS_URL, run redis-server on 127.0.0.1:6379, or install redis-server';
  if (IN_CI) throw new Error(`${why} (CI=true: a missing service is a failure)`);
  t.skip(why);
  return undefined;
}

/**
 * A private redis-server (options as for startRedisServer) for a test that stops or reconfigures it, or a skip with the reason when redis-server
 * cannot be started (under CI=true that is a failure).
 */
export async function privateRedisOrSkip(t: TestContext, opts: { dataDir?: string; args?: string[] } = {}): Promise<RedisServer | undefined> {
  try {
    return await startRedisServer(opts);
  } catch (err) {
    if (IN_CI) throw err;
    t.skip(String(err));
    return undefined;
  }
}

/**
 * Like startRedisServer, but the server keeps its data in `dataDir` (append-only file, fsync on
 * every write), so stop() then start() brings back everything written before: an outage without
 * data loss.
 */
export function startPersistentRedisServer(dataDir: string): Promise<RedisServer> {
  return startRedisServer({ dataDir });
}

/** Test-only cleanup: deletes every key matching each pattern (SCAN, so the server never blocks). */
export async function deleteKeysMatching(client: { sendCommand(args: string[]): Promise<unknown> }, patterns: string[]): Promise<void> {
  for (const pattern of patterns) {
    let cursor = '0';
    do {
      const [next, keys] = (await client.sendCommand(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'])) as [string, string[]];
      cursor = next;
      if (keys.length > 0) await client.sendCommand(['DEL', ...keys]);
    } while (cursor !== '0');
  }
}

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { CLI, jsonLogLines } from '../helpers/cli.ts';

export interface RunChild {
  child: ChildProcessWithoutNullStreams;
  url: string;
  port: number;
  stderr(): string;
  logs(): Array<Record<string, unknown>>;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  /** SIGTERM and wait for the exit; SIGKILL if it is still there after `ms`. */
  stop(ms?: number): Promise<[number | null, NodeJS.Signals | null]>;
}

/** A real `agentspec run` child process, with JSON logs at info level; resolves once it listens. */
export async function startRunChild(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<RunChild> {
  const child = spawn(process.execPath, [CLI, '--log-format', 'json', '--log-level', 'info', 'run', '--port', '0', ...args], {
    ...(cwd === undefined ? {} : { cwd }),
    env: { ...process.env, NO_COLOR: '1', AGENTSPEC_API_KEYS: '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr:\n${stderr}`)), 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = /^listening on (http:\/\/\S+)$/m.exec(stdout);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    exited.then(
      ([code]) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${code} before listening; stderr:\n${stderr}`));
      },
      (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
    );
  });
  return {
    child,
    url,
    port: Number(new URL(url).port),
    stderr: () => stderr,
    logs: () => jsonLogLines(stderr),
    exited,
    stop: async (ms = 15_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json(): Record<string, unknown>;
}

/**
 * One request with exactly the method, headers and body given (nothing added but Host and, for
 * a body, Content-Length), the way an SDK's HTTP client sends it.
 */
export function rawRequest(base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawResponse> {
  const u = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => (text === '' ? {} : (JSON.parse(text) as Record<string, unknown>)) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

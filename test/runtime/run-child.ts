import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { CLI, jsonLogLines } from '../helpers/cli.ts';

export interface RunChild {
  child: ChildProcessWithoutNullStreams;
  url: string;
  /** Parsed JSON log records written so far. */
  logs: () => Array<Record<string, unknown>>;
  /** SIGTERM, then SIGKILL if it has not exited within 10 s. */
  stop: () => Promise<void>;
}

/**
 * `agentspec run ARGS` as a real child process, with JSON logs at info, once it printed its
 * listening line.
 */
export async function startRunChild(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunChild> {
  const child = spawn(process.execPath, [CLI, '--log-format', 'json', '--log-level', 'info', 'run', '--port', '0', ...args], {
    env: { ...process.env, NO_COLOR: '1', AGENTSPEC_API_KEYS: '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'exit');
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
        reject(new Error(`exited with ${String(code)} before listening; stderr:\n${stderr}`));
      },
      (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
    );
  });
  return {
    child,
    url,
    logs: () => jsonLogLines(stderr),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
  };
}

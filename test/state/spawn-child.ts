import { spawn, type ChildProcess } from 'node:child_process';
import { renameSync } from 'node:fs';
import { buildSync } from 'esbuild';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('./child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// Inside the checkout, so the bundle's imports of node_modules packages resolve as the sources' do.
const BUNDLE = fileURLToPath(new URL('../../build/test/state/child.mjs', import.meta.url));

let bundled = false;

/**
 * The child as one JavaScript file, built from the current sources once per test process: a child
 * that starts through tsx pays ~300 ms of compilation at every start, and the crash test starts
 * a thousand of them.
 */
function childScript(): string {
  if (bundled) return BUNDLE;
  // Built under a private name and renamed: test files running in parallel never see a half-written bundle.
  const tmp = `${BUNDLE}.${process.pid}.tmp`;
  buildSync({ entryPoints: [SOURCE], outfile: tmp, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
  renameSync(tmp, BUNDLE);
  bundled = true;
  return BUNDLE;
}

export interface Child {
  proc: ChildProcess;
  /** Every complete stdout line so far. */
  lines: string[];
  stderr(): string;
  /** Resolves with the first stdout line matching `re` (already seen or still to come). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions {
  /**
   * Run without the capabilities that let root ignore file permissions (via setpriv), so a
   * permission-denied case is real even though the tests run as root. The child keeps uid 0, so
   * it can still read the checkout wherever CI cloned it.
   */
  withoutDacOverride?: boolean;
}

/** Start test/state/child.ts in its own process (JSON logs at info on stderr). */
export function spawnChild(args: string[], env: NodeJS.ProcessEnv = {}, opts: SpawnOptions = {}): Child {
  const node = [process.execPath, childScript(), ...args];
  const drop = '-dac_override,-dac_read_search';
  const argv = opts.withoutDacOverride === true ? ['setpriv', `--inh-caps=${drop}`, `--bounding-set=${drop}`, '--', ...node] : node;
  const proc = spawn(argv[0]!, argv.slice(1), {
    cwd: ROOT,
    env: { ...process.env, AGENTSPEC_LOG_FORMAT: 'json', AGENTSPEC_LOG_LEVEL: 'info', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  let err = '';
  const watchers: Array<() => void> = [];
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const w of watchers.slice()) w();
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  let closed = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('close', (code, signal) => {
      closed = true;
      for (const w of watchers.slice()) w();
      resolve({ code, signal });
    });
  });
  return {
    proc,
    lines,
    stderr: () => err,
    exited,
    waitFor(re: RegExp, timeoutMs = 60_000): Promise<string> {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const hit = lines.find((l) => re.test(l));
          if (hit !== undefined) {
            resolve(hit);
            return true;
          }
          if (closed || proc.exitCode !== null || proc.signalCode !== null) {
            reject(new Error(`child exited before printing ${re}; stdout: ${lines.join('|')}; stderr: ${err}`));
            return true;
          }
          return false;
        };
        if (check()) return;
        const timer = setTimeout(() => {
          remove();
          reject(new Error(`timed out waiting for ${re}; stdout: ${lines.join('|')}; stderr: ${err}`));
        }, timeoutMs);
        const w = (): void => {
          if (check()) {
            clearTimeout(timer);
            remove();
          }
        };
        const remove = (): void => {
          const i = watchers.indexOf(w);
          if (i >= 0) watchers.splice(i, 1);
        };
        watchers.push(w);
      });
    },
  };
}

/** JSON log records from a child's stderr. */
export function logLines(stderr: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // A line cut by SIGKILL is not a record.
      continue;
    }
  }
  return out;
}

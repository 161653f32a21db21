// For the HTTP benchmarks: servers as processes of their own, their CPU time and memory from
// /proc, a load generator (wrk as a process of its own when installed, else autocannon in the
// benchmark's process), and a build of an older commit to compare with.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

// ---- process figures -------------------------------------------------------------------------

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const PAGE_SIZE = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096;

export interface ProcFigures {
  /** utime + stime, in seconds. */
  cpuSeconds: number;
  /** stime alone: the time in the kernel (on loopback, each response's write also delivers it and wakes the reader). */
  sysSeconds: number;
  rssBytes: number;
}

/** The fields of a `/proc/<pid>/stat` line from field 3 on (proc(5) numbers them from 1). */
function statFields(stat: string): string[] {
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

export function procFigures(pid: number): ProcFigures {
  const fields = statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  // Fields 14 (utime), 15 (stime) and 24 (rss, in pages) of proc(5).
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { cpuSeconds: ticks / CLK_TCK, sysSeconds: Number(fields[12]) / CLK_TCK, rssBytes: Number(fields[21]) * PAGE_SIZE };
}

// ---- servers ---------------------------------------------------------------------------------

export interface ServerProcess {
  label: string;
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/** Starts `node ...argv`, waits for its `listening on URL` line on stdout; its stderr goes to `logFile`. */
export async function startServer(label: string, argv: string[], opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<ServerProcess> {
  mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const err = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', err], env: opts.env ?? process.env, cwd: opts.cwd });
  } finally {
    closeSync(err);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${label}: no "listening on" line within 60s (log: ${opts.logFile})`)), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const tail = existsSync(opts.logFile) ? readFileSync(opts.logFile, 'utf8').split('\n').slice(-8).join('\n') : '';
      reject(new Error(`${label} exited during start (${String(code ?? signal)}):\n${tail}`));
    });
  });
  // Nothing reads stdout from here on; it must not fill up and block the server.
  child.stdout?.resume();
  return {
    label,
    pid: child.pid!,
    url,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

// ---- load ------------------------------------------------------------------------------------

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

interface AutocannonRequest {
  method?: string;
  path?: string;
  body?: string;
  headers?: Record<string, string>;
  setupRequest?: (req: AutocannonRequest) => AutocannonRequest;
}

interface AutocannonOptions {
  url: string;
  connections: number;
  duration?: number;
  amount?: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  requests?: AutocannonRequest[];
}

// autocannon ships no types: this is the part of its API used here.
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: AutocannonOptions) => Promise<AutocannonResult>;

export interface LoadSpec {
  /** POSTed JSON body. */
  body: unknown;
  /** Paths, taken in turn one per request. */
  paths: readonly string[];
  connections: number;
  /** Seconds; or `amount` requests. */
  duration?: number;
  amount?: number;
}

export interface LoadFigures {
  /** Which load generator made the load. */
  loadgen: Loadgen;
  /** The load generator's CPU per request, microseconds: on a small machine it competes with the server. */
  loadgenCpuUs: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU per request, microseconds. */
  cpuUs: number;
  /** The part of cpuUs spent in the kernel. */
  sysUs: number;
  /** Server RSS at the end, bytes. */
  rssBytes: number;
  failures: number;
}

export type Loadgen = 'wrk' | 'autocannon';

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** wrk when installed (BENCH_LOADGEN=autocannon forces the other), as the issue of record asks. */
export const LOADGEN: Loadgen = (process.env.BENCH_LOADGEN as Loadgen | undefined) ?? (onPath('wrk') ? 'wrk' : 'autocannon');

/** The server's CPU per request between two readings, microseconds, and the kernel's part of it. */
function perRequest(before: ProcFigures, after: ProcFigures, requests: number): { cpuUs: number; sysUs: number } {
  if (requests === 0) return { cpuUs: 0, sysUs: 0 };
  return { cpuUs: ((after.cpuSeconds - before.cpuSeconds) * 1e6) / requests, sysUs: ((after.sysSeconds - before.sysSeconds) * 1e6) / requests };
}

/** POSTs for `duration` seconds (or `amount` requests) and reads the server's CPU time around it. */
export async function load(server: ServerProcess, spec: LoadSpec): Promise<LoadFigures> {
  return LOADGEN === 'wrk' ? loadWithWrk(server, spec) : loadWithAutocannon(server, spec);
}

async function loadWithAutocannon(server: ServerProcess, spec: LoadSpec): Promise<LoadFigures> {
  let next = 0;
  const paths = spec.paths;
  const body = JSON.stringify(spec.body);
  const before = procFigures(server.pid);
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  const r = await autocannon({
    url: server.url,
    // autocannon refuses more connections than requests.
    connections: Math.min(spec.connections, spec.amount ?? spec.connections),
    ...(spec.amount === undefined ? { duration: spec.duration ?? 5 } : { amount: spec.amount }),
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    requests: [
      {
        setupRequest: (req) => {
          req.path = paths[next++ % paths.length]!;
          return req;
        },
      },
    ],
  });
  const seconds = (performance.now() - started) / 1000;
  const after = procFigures(server.pid);
  const own = process.cpuUsage(ownBefore);
  const requests = r.requests.total;
  return {
    loadgen: 'autocannon',
    loadgenCpuUs: requests === 0 ? 0 : (own.user + own.system) / requests,
    requests,
    // Wall time measured here: autocannon's own duration is coarse for short runs.
    rps: requests / seconds,
    p50: r.latency.p50,
    p99: r.latency.p99,
    ...perRequest(before, after, requests),
    rssBytes: after.rssBytes,
    failures: r.errors + r.timeouts + r.non2xx,
  };
}

// wrk takes its paths from a file, one per line, each thread (one here) taking them in turn; `done`
// prints the figures on one line. wrk has no request count: with `amount` the script says when that
// many responses are in, and a SIGINT (which wrk takes as "stop and report") ends the run.
const WRK_SCRIPT = `
local paths, n, seen, limit = {}, 0, 0, tonumber(os.getenv("WRK_AMOUNT") or "0")
for line in io.lines(os.getenv("WRK_PATHS")) do paths[#paths + 1] = line end
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = os.getenv("WRK_BODY")
request = function()
  n = n + 1
  return wrk.format(nil, paths[(n - 1) % #paths + 1])
end
response = function(status)
  seen = seen + 1
  if seen == limit then
    io.write("LIMIT\\n")
    io.flush()
  end
end
done = function(summary, latency)
  local e = summary.errors
  io.write(string.format("WRK %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
`;

let wrkFiles: { dir: string; script: string } | undefined;

function wrkScratch(): { dir: string; script: string } {
  if (wrkFiles === undefined) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'agentspec-bench-wrk-'));
    const script = path.join(dir, 'post.lua');
    writeFileSync(script, WRK_SCRIPT);
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    wrkFiles = { dir, script };
  }
  return wrkFiles;
}

async function loadWithWrk(server: ServerProcess, spec: LoadSpec): Promise<LoadFigures> {
  const { dir, script } = wrkScratch();
  const pathsFile = path.join(dir, 'paths.txt');
  writeFileSync(pathsFile, `${spec.paths.join('\n')}\n`);
  const connections = Math.min(spec.connections, spec.amount ?? spec.connections);
  // With `amount` the duration is only a bound: the run ends at the script's LIMIT line.
  const seconds = spec.amount === undefined ? (spec.duration ?? 5) : 600;
  const wrkArgs = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', script, server.url];
  // The shell names wrk's pid (for the SIGINT), waits for it, then prints its own /proc stat, whose
  // children fields hold the waited-for wrk's CPU time.
  const shell = 'wrk "$@" & w=$!; echo "PID $w"; wait $w; s=$?; echo "STAT $(cat /proc/$$/stat)"; exit $s';
  const before = procFigures(server.pid);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('sh', ['-c', shell, 'wrk', ...wrkArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRK_PATHS: pathsFile, WRK_BODY: JSON.stringify(spec.body), WRK_AMOUNT: String(spec.amount ?? 0) },
    });
    let text = '';
    let errText = '';
    let stopped = false;
    child.stdout.on('data', (c: Buffer) => {
      text += c.toString();
      const pid = /^PID (\d+)$/m.exec(text);
      if (!stopped && pid !== null && /^LIMIT$/m.test(text)) {
        stopped = true;
        process.kill(Number(pid[1]), 'SIGINT');
      }
    });
    child.stderr.on('data', (c: Buffer) => (errText += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${String(code)}: ${errText}${text}`))));
  });
  const after = procFigures(server.pid);
  const m = /^WRK (\d+) (\d+) (\d+) (\d+) (\d+)$/m.exec(out);
  const stat = /^STAT (.*)$/m.exec(out);
  if (m === null || stat === null) throw new Error(`wrk printed no figures:\n${out}`);
  const [requests, durationUs, p50Us, p99Us, failures] = m.slice(1).map(Number) as [number, number, number, number, number];
  const fields = statFields(stat[1]!);
  // Fields 16 (cutime) and 17 (cstime) of proc(5): the waited-for wrk's CPU time.
  const wrkCpuSeconds = (Number(fields[13]) + Number(fields[14])) / CLK_TCK;
  return {
    loadgen: 'wrk',
    loadgenCpuUs: requests === 0 ? 0 : (wrkCpuSeconds * 1e6) / requests,
    requests,
    rps: requests / (durationUs / 1e6),
    p50: p50Us / 1000,
    p99: p99Us / 1000,
    ...perRequest(before, after, requests),
    rssBytes: after.rssBytes,
    failures,
  };
}

// ---- an older commit, built ------------------------------------------------------------------

/**
 * The commit `ref` of this repository, exported (git archive, so the repository itself is not
 * touched), installed with `npm ci` and built, in a directory kept across runs and reused while
 * its build is complete. Returns that directory.
 */
export function buildRef(repo: string, ref: string): { dir: string; sha: string } {
  const sha = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: repo, encoding: 'utf8' }).trim();
  const dir = path.join(os.tmpdir(), `agentspec-bench-ref-${sha.slice(0, 12)}`);
  const marker = path.join(dir, '.bench-built');
  if (existsSync(marker)) return { dir, sha };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`building ${ref} (${sha.slice(0, 12)}) in ${dir} ...\n`);
  const archive = spawnSync('sh', ['-c', `git archive ${sha} | tar -x -C '${dir}'`], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
  if (archive.status !== 0) throw new Error(`git archive ${sha} failed`);
  // npm ci runs `prepare`, which builds dist/.
  const ci = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  if (ci.status !== 0) throw new Error(`npm ci in ${dir} failed`);
  if (!existsSync(path.join(dir, 'dist', 'cli', 'main.js'))) {
    const build = spawnSync('npm', ['run', 'build'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    if (build.status !== 0) throw new Error(`npm run build in ${dir} failed`);
  }
  writeFileSync(marker, `${sha}\n`);
  return { dir, sha };
}

import path from 'node:path';
import type { Command } from 'commander';
import { adapterForEntry, type RuntimeStatus } from '../adapters/index.ts';
import { chooseTarget, DEFAULT_HEALTH_PATH, loadDocuments } from '../apply/index.ts';
import { AgentspecError } from '../errors.ts';
import { entriesOfPackages, packageOf } from '../plan/index.ts';
import type { StateEntry } from '../state/types.ts';
import { action, globalOptions, openStateBackend, io } from './context.ts';

interface StatusFlags {
  env?: string;
  target?: string;
  json?: boolean;
}

type Shown = 'running' | 'stopped' | 'failed' | 'pending';

interface Row {
  fqn: string;
  status: StateEntry['status'];
  state: Shown;
  adapter: string;
  pid?: number;
  port?: number;
  endpoint?: string;
  health: RuntimeStatus['health'];
  uptime_seconds?: number;
  started_at?: string;
  last_applied: string;
  error?: string;
}

function uptime(s: number | undefined): string {
  if (s === undefined) return '-';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${m}m` : m > 0 ? `${m}m${sec}s` : `${sec}s`;
}

function table(rows: Row[]): string {
  const head = ['RESOURCE', 'STATE', 'PID', 'ENDPOINT', 'HEALTH', 'UPTIME'];
  const body = rows.map((r) => [
    r.fqn,
    r.state,
    r.pid === undefined || r.pid === 0 ? '-' : String(r.pid),
    r.endpoint ?? '-',
    r.health,
    uptime(r.uptime_seconds),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const errors = rows.filter((r) => r.error !== undefined).map((r) => `  ${r.fqn}: ${r.error}`);
  return [line(head), ...body.map(line), ...(errors.length > 0 ? ['', 'Errors:', ...errors] : [])].join('\n') + '\n';
}

export function register(program: Command): void {
  program
    .command('status')
    .description('show each deployed resource with its runtime state, pid, endpoint, health and uptime; exit 1 when one is failed or its runtime is down')
    .argument('[paths...]', 'spec files (.ias) or directories (default: everything in the state)')
    .option('--env <name>', 'environment the spec was applied with')
    .option('--target <name>', 'binding or deploy target (for its health path)')
    .option('--json', 'print JSON')
    .action(
      action(async (paths: string[], flags: StatusFlags, cmd: Command) => {
        const g = globalOptions(cmd);
        const stateDir = path.dirname(path.resolve(g.stateFile));
        const healthPaths = new Map<string, string>();
        let packages: string[] | undefined;
        if (paths.length > 0) {
          const docs = await loadDocuments(paths, {
            ...(flags.env === undefined ? {} : { env: flags.env }),
          });
          packages = docs.map((d) => d.package.name);
          for (const d of docs) {
            try {
              healthPaths.set(d.package.name, chooseTarget(d, flags.target).healthPath);
            } catch (err) {
              if (!(err instanceof AgentspecError)) throw err;
            }
          }
        }
        const backend = openStateBackend(g);
        let entries: StateEntry[];
        try {
          const state = await backend.load();
          entries = packages === undefined ? state.entries : entriesOfPackages(state.entries, packages);
        } finally {
          await backend.close?.();
        }

        // Entries of one package share one runtime: inspect each process once.
        const probes = new Map<string, Promise<RuntimeStatus>>();
        const rows: Row[] = [];
        for (const e of entries) {
          const row: Row = { fqn: e.fqn, status: e.status, state: e.status === 'failed' ? 'failed' : e.status === 'pending' ? 'pending' : 'stopped', adapter: e.adapter, health: 'unknown', last_applied: e.last_applied };
          if (e.error !== undefined) row.error = e.error;
          const rt = e.runtime;
          if (rt !== undefined) {
            row.pid = rt.pid;
            row.port = rt.port;
            row.endpoint = rt.endpoint;
            row.started_at = rt.started_at;
          }
          const adapter = adapterForEntry(e.adapter);
          if (rt !== undefined && rt.pid > 0 && adapter.supported) {
            const pkg = packageOf(e.fqn);
            const key = `${pkg}|${rt.pid}|${rt.endpoint}`;
            let probe = probes.get(key);
            if (probe === undefined) {
              probe = adapter.inspect(pkg, stateDir, rt, healthPaths.get(pkg) ?? DEFAULT_HEALTH_PATH);
              probes.set(key, probe);
            }
            const st = await probe;
            row.health = st.health;
            if (st.uptimeSeconds !== undefined) row.uptime_seconds = st.uptimeSeconds;
            if (e.status === 'applied') {
              row.state = st.state;
              if (st.state === 'stopped') row.error = `runtime process ${rt.pid} is not running; the next apply restarts it`;
            }
          }
          rows.push(row);
        }

        if (flags.json === true) {
          io.out(`${JSON.stringify({ format_version: '1', resources: rows }, null, 2)}\n`);
        } else if (rows.length === 0) {
          io.out('Nothing is deployed.\n');
        } else {
          io.out(table(rows));
        }
        // Scripts and monitors can rely on the exit code: 1 when something is not serving.
        return rows.some((r) => r.state === 'failed' || r.health === 'down') ? 1 : 0;
      }),
    );
}

import { adapterForEntry, isRuntimeOf, snapshotPath } from '../adapters/index.ts';
import { errorMessage } from '../errors.ts';
import { logger } from '../log.ts';
import { packageOf } from '../plan/index.ts';
import type { StateEntry } from '../state/types.ts';

/** Entries of one package share a runtime: check each (pid, snapshot) once, not once per entry. */
function runtimeChecker(stateDir: string): (e: StateEntry) => boolean | undefined {
  const seen = new Map<string, boolean>();
  const supported = new Map<string, boolean>();
  return (e) => {
    if (e.runtime === undefined || e.runtime.pid <= 0) return undefined;
    let ok = supported.get(e.adapter);
    if (ok === undefined) {
      ok = adapterForEntry(e.adapter).supported;
      supported.set(e.adapter, ok);
    }
    if (!ok) return undefined;
    const snapshot = e.runtime.snapshot ?? snapshotPath(stateDir, packageOf(e.fqn));
    const key = `${e.runtime.pid}\0${snapshot}`;
    let alive = seen.get(key);
    if (alive === undefined) {
      alive = isRuntimeOf(e.runtime.pid, snapshot);
      seen.set(key, alive);
    }
    return alive;
  };
}

/**
 * What the state says against what runs: an applied entry whose runtime process is gone is
 * returned as `failed` (in memory only), so the plan updates it and the next apply restarts it.
 * Entries that never recorded a runtime are taken as they are.
 */
export function refreshEntries(entries: readonly StateEntry[], stateDir: string): StateEntry[] {
  const running = runtimeChecker(stateDir);
  const supported = new Map<string, boolean>();
  const runsProcesses = (adapter: string): boolean => {
    let ok = supported.get(adapter);
    if (ok === undefined) {
      try {
        ok = adapterForEntry(adapter).supported;
      } catch (err) {
        // An adapter name this version does not know: nothing of ours to start for it.
        logger('apply').debug({ adapter, err: errorMessage(err) }, 'entry names an unknown adapter');
        ok = false;
      }
      supported.set(adapter, ok);
    }
    return ok;
  };
  return entries.map((e) => {
    if (e.status !== 'applied') return e;
    if ((e.runtime === undefined || e.runtime.pid <= 0) && runsProcesses(e.adapter)) {
      // Applied, yet no runtime recorded (a save by the original agentspec leaves entries so): nothing
      // keeps its runtime alive through recovery, so it must be planned as an update that starts and
      // records one, never left as "no changes" after its process was reaped.
      return { ...e, status: 'failed', error: 'no runtime process is recorded for it' };
    }
    if (running(e) !== false) return e;
    return { ...e, status: 'failed', error: `runtime process ${e.runtime!.pid} is not running` };
  });
}

/** Pids of recorded runtimes that are alive: the ones recovery must leave running. */
export function liveRuntimePids(entries: readonly StateEntry[], stateDir: string): number[] {
  const running = runtimeChecker(stateDir);
  const pids = new Set<number>();
  for (const e of entries) if (e.status === 'applied' && running(e) === true) pids.add(e.runtime!.pid);
  return [...pids];
}

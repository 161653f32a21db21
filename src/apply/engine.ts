import { adapterFor, adapterForEntry, type Adapter, type PreparedDeploy, type Standby, type TargetChoice } from '../adapters/index.ts';
import { UnsupportedTargetError } from '../adapters/index.ts';
import { errorMessage } from '../errors.ts';
import type { IRDocument, Resource } from '../ir/types.ts';
import { logger } from '../log.ts';
import { computePlan, entriesOfPackages, hasChanges, type Plan, type PlannedAction } from '../plan/index.ts';
import { StateLockLostError } from '../state/errors.ts';
import type { Backend, RuntimeInfo, State, StateEntry } from '../state/types.ts';
import { ApplyFencedOutError } from './errors.ts';
import { previousAttributes } from './previous.ts';
import { countResults, type ActionResult, type ApplyCounts, type ProgressSink, type StartProgress } from './progress.ts';
import { liveRuntimePids, refreshEntries } from './refresh.ts';

/** One package of the spec, lowered, with the target it deploys to. */
export interface PackageSpec {
  name: string;
  document: IRDocument;
  target: TargetChoice;
}

export interface EngineOptions {
  backend: Backend;
  /** Directory of the state file: the adapters keep `.agentspec/` there. */
  stateDir: string;
  lockTimeoutMs: number;
  /** Told the plan as soon as it is known (inside the lock, before any change). */
  onPlan?: (plan: Plan) => void;
  /** Asked once the plan is known, inside the lock; undefined approves (--auto-approve). */
  confirm?: (plan: Plan) => Promise<boolean>;
  progress?: ProgressSink;
  /** Aborting stops after the resource in flight; what happened is saved. */
  signal?: AbortSignal;
  /** Resolve an adapter name (tests and embedders may supply their own). */
  adapters?: (name: string) => Adapter;
}

export interface EngineResult {
  plan: Plan;
  /** False when the confirmation was declined: nothing was changed. */
  approved: boolean;
  /** True when the signal stopped the run before every package was handled. */
  interrupted: boolean;
  results: ActionResult[];
  counts: ApplyCounts;
  state: State;
}

function newResult(plan: Plan, state: State): EngineResult {
  return { plan, approved: true, interrupted: false, results: [], counts: countResults([]), state };
}

/** Record a package's results and show each as it lands. */
function report(result: EngineResult, rs: ActionResult[], opts: EngineOptions): void {
  for (const r of rs) {
    result.results.push(r);
    opts.progress?.result?.(r);
  }
}

function finish(result: EngineResult, ledger: Ledger, signal: AbortSignal | undefined): EngineResult {
  if (aborted(signal)) result.interrupted = true;
  result.counts = countResults(result.results);
  result.state = ledger.state;
  return result;
}

function now(): string {
  return new Date().toISOString();
}

function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** Holds the lock for `fn`; the lock is released whatever happens, and an unlock error never hides fn's. */
async function underLock<T>(backend: Backend, operation: string, opts: EngineOptions, fn: () => Promise<T>): Promise<T> {
  await backend.lock({ operation, timeoutMs: opts.lockTimeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) });
  try {
    return await fn();
  } finally {
    try {
      await backend.unlock();
    } catch (err) {
      logger('apply').error({ err: errorMessage(err), state: backend.location }, 'could not release the state lock');
    }
  }
}

/**
 * Mutable view of the state during one run: every save goes through here so the serial the next
 * save is based on is always the one just written.
 */
class Ledger {
  // By FQN: an apply puts and gets every resource once or more, and a scan per call made a large
  // apply quadratic. A Map keeps insertion order, so `entries` lists them as an array would.
  private byFqn: Map<string, StateEntry>;
  constructor(
    private readonly backend: Backend,
    public state: State,
  ) {
    this.byFqn = Ledger.index(state.entries);
  }

  private static index(entries: readonly StateEntry[]): Map<string, StateEntry> {
    return new Map(entries.map((e) => [e.fqn, e]));
  }

  get entries(): StateEntry[] {
    return [...this.byFqn.values()];
  }

  put(entry: StateEntry): void {
    this.byFqn.set(entry.fqn, entry);
  }

  remove(fqn: string): void {
    this.byFqn.delete(fqn);
  }

  get(fqn: string): StateEntry | undefined {
    return this.byFqn.get(fqn);
  }

  async save(why: string): Promise<void> {
    this.state = await this.backend.save(this.entries, this.state.serial);
    this.byFqn = Ledger.index(this.state.entries);
    logger('apply').debug({ serial: this.state.serial, why }, 'state saved');
  }
}

function recordedPids(entries: readonly StateEntry[]): number[] {
  return [...new Set(entries.flatMap((e) => (e.runtime !== undefined && e.runtime.pid > 0 ? [e.runtime.pid] : [])))];
}

/**
 * Apply one package: record the intent, stop the old runtime, start the new one, record the
 * outcome. Returns the results of its actions.
 */
async function applyPackage(
  spec: PackageSpec,
  adapter: Adapter,
  actions: PlannedAction[],
  ledger: Ledger,
  opts: EngineOptions,
  early: EarlyStart | undefined,
): Promise<ActionResult[]> {
  const log = logger('apply');
  const changed = actions.filter((a) => a.action !== 'noop');
  const desired: Resource[] = spec.document.resources ?? [];
  const pkgEntries = entriesOfPackages(ledger.entries, [spec.name]);
  const oldPids = recordedPids(pkgEntries);
  const t0 = Date.now();
  const results = (ok: boolean, error?: string): ActionResult[] =>
    changed.map((a) => ({
      fqn: a.fqn,
      action: a.action as ActionResult['action'],
      ok,
      ms: Date.now() - t0,
      ...(error === undefined ? {} : { error }),
    }));

  if (desired.length === 0) {
    // Nothing left to serve: stop the runtime, then forget the entries.
    opts.progress?.packageStarted?.(spec.name, 'stopping the runtime (no resources left)');
    try {
      await adapter.stop(spec.name, opts.stateDir, oldPids);
    } catch (err) {
      // The entries stay (something may still serve them), each carrying why.
      const message = `could not stop the runtime: ${errorMessage(err)}`;
      log.error({ package: spec.name, err: message }, 'runtime failed to stop');
      for (const a of changed) {
        const e = ledger.get(a.fqn);
        if (e !== undefined) ledger.put({ ...e, status: 'failed', error: message });
      }
      await ledger.save('stop failed');
      return results(false, message);
    }
    for (const a of changed) ledger.remove(a.fqn);
    await ledger.save('package emptied');
    return results(true);
  }

  let prepared: PreparedDeploy;
  try {
    prepared = early?.prepared ?? (await adapter.prepare({ package: spec.name, document: spec.document, target: spec.target, stateDir: opts.stateDir }));
  } catch (err) {
    const message = errorMessage(err);
    // Returned in the result, which the command reports once per failure; logged for -v and JSON logs.
    log.info({ package: spec.name, err: message }, 'could not prepare the deployment');
    const at = now();
    for (const a of changed) {
      if (a.action === 'delete' || a.resource === undefined) continue;
      ledger.put({ fqn: a.fqn, hash: a.resource.hash, status: 'failed', last_applied: at, adapter: adapter.name, error: message });
    }
    await ledger.save('prepare failed');
    return results(false, message);
  }

  // Intent record: before anything is stopped or started, the state says which port and snapshot
  // this package is about to use, so a kill from here on leaves something the next apply can find.
  const intentAt = now();
  const intent: RuntimeInfo = {
    pid: 0,
    port: prepared.port,
    endpoint: prepared.endpoint,
    started_at: intentAt,
    snapshot: prepared.snapshotPath,
  };
  for (const a of changed) {
    if (a.action === 'delete' || a.resource === undefined) continue;
    ledger.put({ fqn: a.fqn, hash: a.resource.hash, status: 'pending', last_applied: intentAt, adapter: adapter.name, runtime: intent });
  }
  await ledger.save('intent');

  opts.progress?.packageStarted?.(
    spec.name,
    `${oldPids.length > 0 ? 'restarting' : 'starting'} the runtime on ${prepared.endpoint} (target "${spec.target.name}")`,
  );
  let info: RuntimeInfo | undefined;
  let failure: string | undefined;
  let stopped = false;
  const standby = early?.standby;
  try {
    await adapter.stop(spec.name, opts.stateDir, oldPids, standby === undefined ? [] : [standby.pid]);
    stopped = true;
  } catch (err) {
    failure = `could not stop the previous runtime: ${errorMessage(err)}`;
    // Returned in the result, which the command reports once per failure; logged for -v and JSON logs.
    log.info({ package: spec.name, err: failure }, 'runtime failed to stop');
  }
  if (failure === undefined) {
    try {
      const onProgress = (e: StartProgress): void => opts.progress?.runtime?.(spec.name, e);
      const started = await adapter.start(prepared, {
        onProgress,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(standby === undefined ? {} : { standby }),
      });
      info = { ...started, snapshot: prepared.snapshotPath };
    } catch (err) {
      failure = errorMessage(err);
      // Returned in the result, which the command reports once per failure; logged for -v and JSON logs.
      log.info({ package: spec.name, err: failure }, 'runtime failed to start');
    }
  }

  const doneAt = now();
  const changedFqns = new Set(changed.map((a) => a.fqn));
  for (const r of desired) {
    const prior = ledger.get(r.fqn);
    const lastApplied = changedFqns.has(r.fqn) || prior === undefined ? doneAt : prior.last_applied;
    const entry: StateEntry =
      info !== undefined
        ? { fqn: r.fqn, hash: r.hash, status: 'applied', last_applied: lastApplied, adapter: adapter.name, runtime: info }
        : {
            fqn: r.fqn,
            hash: r.hash,
            status: 'failed',
            last_applied: lastApplied,
            adapter: adapter.name,
            error: failure ?? 'runtime did not start',
          };
    ledger.put(entry);
  }
  // Once the old runtime is gone, resources no longer in the spec are no longer served.
  if (stopped) for (const a of changed) if (a.action === 'delete') ledger.remove(a.fqn);
  try {
    await ledger.save('outcome');
  } catch (err) {
    if (err instanceof StateLockLostError && info !== undefined) throw await abandonRuntime(spec, adapter, prepared, info.pid, err);
    throw err;
  }

  return changed.map((a) => {
    const ok = a.action === 'delete' ? stopped : info !== undefined;
    return {
      fqn: a.fqn,
      action: a.action as ActionResult['action'],
      ok,
      ms: Date.now() - t0,
      ...(ok ? {} : { error: failure ?? 'runtime did not start' }),
    };
  });
}

/**
 * The lock was broken while this apply started a runtime: the state it can no longer write says
 * `pending`, so the runtime must not keep serving. Stop exactly that process (the new lock holder
 * may have started its own) and say what happened to it.
 */
async function abandonRuntime(spec: PackageSpec, adapter: Adapter, prepared: PreparedDeploy, pid: number, lost: StateLockLostError): Promise<ApplyFencedOutError> {
  const log = logger('apply');
  try {
    await adapter.rollback(prepared, pid);
    log.error({ package: spec.name, runtime_pid: pid }, 'lock lost after starting a runtime; it was stopped');
    return new ApplyFencedOutError(lost, pid, undefined);
  } catch (err) {
    log.error({ package: spec.name, runtime_pid: pid, err: errorMessage(err) }, 'lock lost after starting a runtime; it could not be stopped');
    return new ApplyFencedOutError(lost, pid, errorMessage(err));
  }
}

/** A package whose leftover runtimes could not be stopped is not deployed; each changed entry records why. */
async function recordRecoveryFailure(spec: PackageSpec, adapter: Adapter, actions: PlannedAction[], ledger: Ledger, message: string): Promise<ActionResult[]> {
  const at = now();
  const changed = actions.filter((a) => a.action !== 'noop');
  for (const a of changed) {
    const prior = ledger.get(a.fqn);
    // A recorded entry keeps its hash and runtime: that is still what runs.
    if (prior !== undefined) ledger.put({ ...prior, status: 'failed', error: message });
    else if (a.resource !== undefined) {
      ledger.put({ fqn: a.fqn, hash: a.resource.hash, status: 'failed', last_applied: at, adapter: adapter.name, error: message });
    }
  }
  await ledger.save('recovery failed');
  logger('apply').error({ package: spec.name, err: message }, 'package skipped: recovery failed');
  return changed.map((a) => ({ fqn: a.fqn, action: a.action as ActionResult['action'], ok: false, ms: 0, error: message }));
}

/** A package's deployment laid out and its runtime spawned ahead, waiting to be told to start. */
interface EarlyStart {
  prepared: PreparedDeploy;
  standby?: Standby;
}

/**
 * Spawn, for every package the plan changes and that will serve something, its runtime ahead of
 * time: its cold start (loading the runtime's code) then overlaps printing the plan, the intent
 * save and stopping the old runtime, instead of following them. Runs under the lock and after
 * recovery only: the standby is recorded in the package's pid file, which belongs to the lock
 * holder and, once recovery is done, names nothing the state does not also record. A package
 * whose standby cannot be had simply starts its runtime the usual way.
 */
async function startEarly(
  specs: readonly PackageSpec[],
  plan: Plan,
  adapters: Map<string, Adapter>,
  skip: ReadonlyMap<string, string>,
  opts: EngineOptions,
  into: Map<string, EarlyStart>,
): Promise<void> {
  for (const spec of specs) {
    if (aborted(opts.signal)) return;
    const adapter = adapters.get(spec.name)!;
    if (adapter.standby === undefined || skip.has(spec.name) || into.has(spec.name)) continue;
    if ((spec.document.resources ?? []).length === 0) continue;
    if (!plan.actions.some((a) => a.package === spec.name && a.action !== 'noop')) continue;
    let prepared: PreparedDeploy;
    try {
      prepared = await adapter.prepare({ package: spec.name, document: spec.document, target: spec.target, stateDir: opts.stateDir });
    } catch (err) {
      // applyPackage prepares again and records the failure where it belongs.
      logger('apply').debug({ package: spec.name, err: errorMessage(err) }, 'not starting the runtime ahead: the deployment cannot be prepared');
      continue;
    }
    const early: EarlyStart = { prepared };
    into.set(spec.name, early);
    try {
      early.standby = await adapter.standby(prepared);
    } catch (err) {
      logger('apply').info({ package: spec.name, err: errorMessage(err) }, 'could not start the runtime ahead; it starts when its turn comes');
    }
  }
}

/**
 * Standbys that no start used are stopped before the lock is released. One that will not stop
 * is logged, not thrown: it serves nothing, the pid file still names it for the next apply's
 * recovery, and it exits by itself once this process has (its pipe closes).
 */
async function dismissEarly(early: ReadonlyMap<string, EarlyStart>): Promise<void> {
  for (const [pkg, e] of early) {
    try {
      await e.standby?.dismiss();
    } catch (err) {
      logger('apply').error({ package: pkg, runtime_pid: e.standby?.pid, err: errorMessage(err) }, 'an unused runtime standby could not be stopped');
    }
  }
}

/** Refuse targets that cannot be applied before taking the lock or touching anything. */
function resolveAdapters(specs: readonly PackageSpec[], resolve: (name: string) => Adapter): Map<string, Adapter> {
  const out = new Map<string, Adapter>();
  for (const spec of specs) {
    const adapter = resolve(spec.target.adapter);
    if (!adapter.supported) throw new UnsupportedTargetError(spec.target.adapter);
    out.set(spec.name, adapter);
  }
  return out;
}

/**
 * `lock -> load (with recovery) -> plan -> confirm -> act -> save -> unlock`. Every step after the
 * lock runs inside it: a plan computed before it could be stale. Only this module writes state.
 */
export async function applySpec(specs: readonly PackageSpec[], opts: EngineOptions): Promise<EngineResult> {
  const resolve = opts.adapters ?? adapterFor;
  const adapters = resolveAdapters(specs, resolve);
  const packages = specs.map((s) => s.name);

  return underLock(opts.backend, 'apply', opts, async () => {
    const log = logger('apply');
    const loaded = await opts.backend.load({ repair: true });
    const ledger = new Ledger(opts.backend, loaded);

    // Recovery: a runtime that no applied entry accounts for (an interrupted apply's) is stopped;
    // recorded runtimes that died are planned as updates.
    const refreshed = refreshEntries(ledger.entries, opts.stateDir);
    const recoveryFailed = new Map<string, string>();
    for (const spec of specs) {
      const adapter = adapters.get(spec.name)!;
      const keep = liveRuntimePids(entriesOfPackages(refreshed, [spec.name]), opts.stateDir);
      try {
        const reaped = await adapter.reap(spec.name, opts.stateDir, keep);
        if (reaped.stopped.length > 0) log.warn({ package: spec.name, runtime_pids: reaped.stopped }, 'recovered from an interrupted apply');
      } catch (err) {
        // One package's stuck leftover must not stop the others from being applied.
        const message = `could not stop a runtime left over by an interrupted apply: ${errorMessage(err)}`;
        log.error({ package: spec.name, err: message }, 'recovery failed');
        recoveryFailed.set(spec.name, message);
      }
    }

    const desired = specs.flatMap((s) => s.document.resources ?? []);
    const previous = previousAttributes(opts.stateDir, packages, ledger.entries);
    const plan = computePlan({ packages, desired, entries: refreshed, previous });
    const early = new Map<string, EarlyStart>();
    try {
      // Unattended, the runtimes are spawned before the plan is even printed; asked first, only
      // once the answer is yes.
      if (opts.confirm === undefined && hasChanges(plan)) await startEarly(specs, plan, adapters, recoveryFailed, opts, early);
      opts.onPlan?.(plan);
      const result = newResult(plan, ledger.state);
      if (!hasChanges(plan)) return result;
      if (opts.confirm !== undefined && !(await opts.confirm(plan))) {
        result.approved = false;
        return result;
      }
      await startEarly(specs, plan, adapters, recoveryFailed, opts, early);

      for (const spec of specs) {
        if (aborted(opts.signal)) {
          result.interrupted = true;
          break;
        }
        const actions = plan.actions.filter((a) => a.package === spec.name);
        if (!actions.some((a) => a.action !== 'noop')) continue;
        const adapter = adapters.get(spec.name)!;
        const failed = recoveryFailed.get(spec.name);
        if (failed !== undefined) {
          report(result, await recordRecoveryFailure(spec, adapter, actions, ledger, failed), opts);
          continue;
        }
        report(result, await applyPackage(spec, adapter, actions, ledger, opts, early.get(spec.name)), opts);
      }
      return finish(result, ledger, opts.signal);
    } finally {
      await dismissEarly(early);
    }
  });
}

/** What destroy did; the same shape as an apply's result. */
export type DestroyResult = EngineResult;

/** Stop everything the packages deployed and remove their entries, under the lock. */
export async function destroySpec(packages: readonly string[], opts: EngineOptions): Promise<DestroyResult> {
  return underLock(opts.backend, 'destroy', opts, async () => {
    const loaded = await opts.backend.load({ repair: true });
    const ledger = new Ledger(opts.backend, loaded);
    const plan = computePlan({ packages: [...packages], desired: [], entries: ledger.entries });
    opts.onPlan?.(plan);
    const result = newResult(plan, ledger.state);
    if (opts.confirm !== undefined && hasChanges(plan) && !(await opts.confirm(plan))) {
      result.approved = false;
      return result;
    }
    const resolve = opts.adapters ?? adapterForEntry;
    for (const pkg of packages) {
      if (aborted(opts.signal)) {
        result.interrupted = true;
        break;
      }
      const entries = entriesOfPackages(ledger.entries, [pkg]);
      const t0 = Date.now();
      const byAdapter = new Map<string, StateEntry[]>();
      for (const e of entries) byAdapter.set(e.adapter, [...(byAdapter.get(e.adapter) ?? []), e]);
      // Even with no entries, a runtime an interrupted apply left behind is stopped.
      if (byAdapter.size === 0) byAdapter.set('process', []);
      let failure: string | undefined;
      for (const [name, es] of byAdapter) {
        const adapter = resolve(name);
        if (!adapter.supported) continue;
        try {
          await adapter.stop(pkg, opts.stateDir, recordedPids(es));
        } catch (err) {
          failure = errorMessage(err);
          // Returned in the result, which the command reports once per failure; logged for -v and JSON logs.
          logger('apply').info({ package: pkg, err: failure }, 'could not stop the runtime');
        }
      }
      const rs: ActionResult[] = entries.map((e) => ({
        fqn: e.fqn,
        action: 'delete',
        ok: failure === undefined,
        ms: Date.now() - t0,
        ...(failure === undefined ? {} : { error: failure }),
      }));
      if (failure === undefined && entries.length > 0) {
        for (const e of entries) ledger.remove(e.fqn);
        await ledger.save('destroy');
      }
      report(result, rs, opts);
    }
    return finish(result, ledger, opts.signal);
  });
}


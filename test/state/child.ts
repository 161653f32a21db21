// A separate process that uses the state module the way agentspec does, driven by the integration
// tests (real processes, real kernel locks, real SIGKILL). Usage: node --import tsx child.ts MODE ...
// (test/state/spawn-child.ts runs it bundled to plain JavaScript, so each start is fast).
import fs from 'node:fs';
import path from 'node:path';
import { open } from 'node:fs/promises';
import { tryLock } from 'fs-native-extensions';
import { LocalBackend, isPostgresUrl, openBackend, type Backend, type StateEntry } from '../../src/state/index.ts';
import { AgentspecError } from '../../src/errors.ts';
import { crashEntries } from './crash-entries.ts';

const [mode, stateFile, ...rest] = process.argv.slice(2);

function say(line: string): void {
  // Synchronous write: a line printed before a SIGKILL must reach the test.
  fs.writeSync(1, `${line}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function entry(fqn: string): StateEntry {
  return { fqn, hash: `sha256:${fqn}`, status: 'applied', last_applied: new Date().toISOString(), adapter: 'process' };
}

function codeOf(err: unknown): string {
  return err instanceof AgentspecError ? err.code : `UNEXPECTED ${String(err)}`;
}

async function main(): Promise<void> {
  if (stateFile === undefined) throw new Error('usage: child.ts MODE STATE_FILE ...');
  // A postgres:// URL in place of the state file runs the same scenario against the PostgreSQL backend.
  const b: Backend = isPostgresUrl(stateFile) ? openBackend({ stateFile: '', backend: stateFile }) : new LocalBackend({ path: stateFile });
  switch (mode) {
    case 'crash-loop': {
      // Saves forever with deterministic content per serial, so the test can check what it finds.
      await b.lock({ operation: 'crash-loop', timeoutMs: 60_000 });
      let s = await b.load({ repair: true });
      say(`ready ${s.serial}`);
      for (;;) {
        const next = s.serial + 1;
        say(`start ${next}`);
        s = await b.save(crashEntries(next), s.serial);
        say(`done ${s.serial}`);
      }
    }
    case 'hold': {
      // Take the lock, hold it (HOLD_MS, or until the file GO_FILE appears), then try to save one
      // entry: reports whether the save was allowed.
      const holdMs = Number(rest[0]);
      const staleAfterMs = rest[1] === undefined || rest[1] === '' ? undefined : Number(rest[1]);
      const goFile = rest[2];
      const info = await b.lock({ operation: 'hold', timeoutMs: 30_000, staleAfterMs });
      const s = await b.load({ repair: true });
      say(`locked ${info.id}`);
      if (goFile === undefined) await sleep(holdMs);
      else {
        while (!fs.existsSync(goFile)) {
          // The test is gone (its directory removed): do not linger as an orphan.
          if (!fs.existsSync(path.dirname(goFile))) process.exit(11);
          await sleep(10);
        }
      }
      try {
        await b.save([...s.entries, entry(`holder/Agent/p${process.pid}`)], s.serial);
        say('saved');
      } catch (err) {
        say(`save-error ${codeOf(err)}`);
      }
      await b.unlock();
      say('unlocked');
      return;
    }
    case 'try-lock': {
      // One attempt with the given timeout and stale threshold; prints the outcome as JSON.
      const timeoutMs = Number(rest[0]);
      const staleAfterMs = rest[1] === undefined ? undefined : Number(rest[1]);
      try {
        const info = await b.lock({ operation: 'try-lock', timeoutMs, staleAfterMs });
        const s = await b.load({ repair: true });
        await b.save([...s.entries, entry(`waiter/Agent/p${process.pid}`)], s.serial);
        await b.unlock();
        say(JSON.stringify({ ok: true, id: info.id }));
      } catch (err) {
        const e = err as Record<string, unknown>;
        say(JSON.stringify({ ok: false, code: codeOf(err), holderPid: e.holderPid, hostname: e.hostname, lockId: e.lockId, operation: e.operation, since: e.since, message: (err as Error).message }));
      }
      return;
    }
    case 'add': {
      // Repeated read-modify-write cycles under the lock; a lost update would drop an entry.
      const name = rest[0]!;
      const count = Number(rest[1]);
      for (let i = 0; i < count; i++) {
        await b.lock({ operation: 'add', timeoutMs: 120_000 });
        try {
          const s = await b.load({ repair: true });
          await b.save([...s.entries, entry(`${name}/Agent/e${i}`)], s.serial);
        } finally {
          await b.unlock();
        }
      }
      say('finished');
      return;
    }
    case 'churn': {
      // Lock/unlock churn; "enter"/"exit" lines appended with O_APPEND reveal any overlap of holders.
      const logFile = rest[0]!;
      const count = Number(rest[1]);
      const fd = fs.openSync(logFile, 'a');
      for (let i = 0; i < count; i++) {
        await b.lock({ operation: 'churn', timeoutMs: 120_000 });
        fs.writeSync(fd, `enter ${process.pid}\n`);
        if (i % 3 === 0) await sleep(1);
        fs.writeSync(fd, `exit ${process.pid}\n`);
        await b.unlock();
      }
      fs.closeSync(fd);
      say('finished');
      return;
    }
    case 'load': {
      // Load (read-only, or with repair under the lock) and print the result or the error.
      const repair = rest[0] === 'repair';
      try {
        if (repair) await b.lock({ operation: 'load', timeoutMs: 10_000 });
        const s = await b.load({ repair });
        say(JSON.stringify({ ok: true, serial: s.serial, lineage: s.lineage, entries: s.entries.length }));
      } catch (err) {
        const e = err as Record<string, unknown>;
        say(JSON.stringify({ ok: false, code: codeOf(err), exitCode: e.exitCode, backupUsed: e.backupUsed, message: (err as Error).message }));
      } finally {
        await b.unlock();
      }
      return;
    }
    case 'fake-holder': {
      // A holder as seen from another host: it holds the kernel lock but writes lock info of its own
      // choosing (e.g. another hostname and an old heartbeat) and never refreshes it.
      const info = rest[0]!;
      const h = await open(`${stateFile}.lock`, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
      if (!tryLock(h.fd)) throw new Error('fake-holder: lock is taken');
      await h.truncate(0);
      await h.write(info, 0);
      await h.sync();
      say('ready');
      await sleep(600_000);
      return;
    }
    default:
      throw new Error(`unknown mode ${String(mode)}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(10);
  },
);

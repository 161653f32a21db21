import { createRequire } from 'node:module';
import { AgentspecError } from '../errors.ts';

/*
 * On Linux, flock(2) locks and OFD (fcntl F_OFD_SETLK) locks live in separate tables: a holder of
 * one kind does not see a holder of the other. The original agentspec takes flock on `<state>.lock`,
 * so this process takes both kinds on the same descriptor and is excluded by a holder of either.
 * fs-native-extensions already uses flock on macOS and the BSDs, where the second call is not needed.
 */

type OfdLocks = typeof import('fs-native-extensions');
let ofdLocks: OfdLocks | undefined;

// The native addons load at the first lock, not at import: commands that never lock (`--version`,
// `validate`, `plan`) start without them.
function ofd(): OfdLocks {
  ofdLocks ??= createRequire(import.meta.url)('fs-native-extensions') as OfdLocks;
  return ofdLocks;
}

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const EWOULDBLOCK = 11;
const EINTR = 4;

interface Flock {
  call(fd: number, op: number): number;
  errno(): number;
}

let flockFn: Flock | null | undefined;

/** libc's flock through koffi (prebuilt per platform, no build step); null off Linux. */
function flock(): Flock | null {
  if (flockFn !== undefined) return flockFn;
  if (process.platform !== 'linux') {
    flockFn = null;
    return null;
  }
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as {
    load(name: string): { func(sig: string): (...args: number[]) => number };
    errno(): number;
  };
  let lastError: unknown;
  // glibc first, then musl's names (Alpine): the one that loads is the process's own libc.
  for (const name of ['libc.so.6', 'libc.musl-x86_64.so.1', 'libc.musl-aarch64.so.1', 'libc.so']) {
    try {
      const fn = koffi.load(name).func('int flock(int fd, int op)');
      flockFn = { call: fn, errno: () => koffi.errno() };
      return flockFn;
    } catch (err) {
      lastError = err;
    }
  }
  throw new AgentspecError('E_STATE_LOCK_UNAVAILABLE', 'Could not load flock(2) from the C library; the state lock cannot exclude the original agentspec.', {
    cause: lastError,
  });
}

function flockOp(fd: number, op: number): number {
  const f = flock();
  if (f === null) return 0;
  for (;;) {
    if (f.call(fd, op) === 0) return 0;
    const errno = f.errno();
    if (errno !== EINTR) return errno;
  }
}

/**
 * Take both kernel locks on `fd` without blocking; false (and nothing held) when either is held
 * by someone else.
 */
export function tryLockBoth(fd: number): boolean {
  const errno = flockOp(fd, LOCK_EX | LOCK_NB);
  if (errno === EWOULDBLOCK) return false;
  if (errno !== 0) throw new AgentspecError('E_STATE_LOCK_UNAVAILABLE', `flock(2) on the state lock failed with errno ${errno}.`);
  if (ofd().tryLock(fd)) return true;
  flockOp(fd, LOCK_UN);
  return false;
}

/** Release both kernel locks on `fd` (closing the descriptor would also release them). */
export function unlockBoth(fd: number): void {
  ofd().unlock(fd);
  const errno = flockOp(fd, LOCK_UN);
  if (errno !== 0) throw new AgentspecError('E_STATE_LOCK_UNAVAILABLE', `flock(2) unlock of the state lock failed with errno ${errno}.`);
}

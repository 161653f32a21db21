// Types for the parts of fs-native-extensions this module uses (the package ships none).
declare module 'fs-native-extensions' {
  export interface LockOptions {
    /** A shared (read) lock instead of an exclusive one. */
    shared?: boolean;
  }
  /** Non-blocking lock on the whole file (OFD lock on Linux, flock on macOS); false when someone else holds it. */
  export function tryLock(fd: number, opts?: LockOptions): boolean;
  export function tryLock(fd: number, offset: number, length: number, opts?: LockOptions): boolean;
  export function waitForLock(fd: number, opts?: LockOptions): Promise<void>;
  export function unlock(fd: number, offset?: number, length?: number): void;
}

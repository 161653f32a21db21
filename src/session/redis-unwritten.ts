import { getDefaultHighWaterMark } from 'node:stream';

/**
 * Which Redis commands need their deadline's signal. The client drops a command at its signal
 * only while the command is still unwritten (DeadlineGroups), and handing it a signal costs the
 * client about 5 µs per command: with two commands a turn, a fifth of a Redis turn's CPU in the
 * store. Most commands cannot be left unwritten, and this tells which.
 *
 * The client writes its whole queue at its next write, corked, and stops only once the socket's
 * buffer holds its high-water mark; what is left waits for the buffer to drain. (It also holds
 * its queue while paused for an Enterprise maintenance hand-over, which the store turns off.)
 * Every byte in that buffer is of a command Redis has not read, so has not answered. So while the
 * commands given to the client and not yet answered, the new one included, add up to less than
 * the high-water mark, the buffer cannot reach it before the new one is written: that command
 * needs no signal. Every command the store gives the client is counted here, or the sum would be
 * too low; a command counted as longer than it is only costs a signal.
 */
export class UnwrittenCommands {
  private bytes = 0;
  private readonly limit: number;

  /** `limit`: the socket's high-water mark (the client leaves it at the default). */
  constructor(limit = getDefaultHighWaterMark(false)) {
    this.limit = limit;
  }

  /**
   * Counts a command of `size` bytes given to the client now, until `answered` is called for it
   * (once, when the client settles it: a reply, a drop, or a lost connection). True when it may
   * be left unwritten, so it needs its signal.
   */
  given(size: number): boolean {
    this.bytes += size;
    return this.bytes >= this.limit;
  }

  answered(size: number): void {
    this.bytes -= size;
  }

  /** Bytes of commands given and not yet answered. */
  get pending(): number {
    return this.bytes;
  }
}

/**
 * At least the bytes of `args` as the client sends them (RESP: `*N\r\n`, then `$LEN\r\nARG\r\n`
 * per argument): 13 for the count's line, and 15 for each argument's length line and ending,
 * enough for lengths of up to ten digits. The arguments are measured joined, one call instead of
 * one per argument: half the time for a turn's fresh strings (measured, 0.5 against 1.1 µs a
 * command). Joined, a lone surrogate half at the end of one argument and the other half at the
 * start of the next make one 4-byte character where the client sends two of 3 bytes each, so
 * each argument adds 2 more.
 */
export function commandBytes(args: readonly string[]): number {
  return 13 + 17 * args.length + Buffer.byteLength(args.join(''));
}

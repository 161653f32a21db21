import { writeSync } from 'node:fs';

/** How long a write to a full non-blocking pipe is retried before the batch is given up (and said so). */
const EAGAIN_RETRY_MS = 1000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Lines gathered in memory and written to a file descriptor together: when the next line could
 * pass `maxBytes`, after `maxDelayMs`, or when `flush` is called. The log's request lines use it:
 * one write per request was a large share of the runtime's CPU per request, and pino's destination
 * (sonic-boom) measures the byte length of its whole pending buffer on every line it adds, which
 * costs more than the writes it saves once the buffer is a few kilobytes.
 */
export class LineBatch {
  private readonly fd: number;
  private readonly maxDelayMs: number;
  // Lines are encoded into this buffer as they come, and the buffer is written as it is: joining
  // the lines into one string and encoding that was half the cost of a request line (measured).
  private readonly buffer: Buffer;
  private used = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(fd: number, opts: { maxBytes: number; maxDelayMs: number }) {
    this.fd = fd;
    this.maxDelayMs = opts.maxDelayMs;
    this.buffer = Buffer.allocUnsafe(opts.maxBytes);
  }

  /** Adds one line (with its newline). */
  write(line: string): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8: a line this short always fits whole.
    if (line.length * 3 > this.buffer.length - this.used) {
      this.flush();
      if (line.length * 3 > this.buffer.length) {
        writeFully(this.fd, Buffer.from(line, 'utf8'));
        return;
      }
    }
    this.used += this.buffer.write(line, this.used, 'utf8');
    if (this.timer === undefined) {
      this.timer = setTimeout(flushLater, this.maxDelayMs, this);
      // Lines waiting must not keep a process alive; the exit handler writes them.
      this.timer.unref();
    }
  }

  /** Writes what waits, at once. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.used === 0) return;
    const used = this.used;
    this.used = 0;
    writeFully(this.fd, this.buffer.subarray(0, used));
  }
}

function flushLater(batch: LineBatch): void {
  batch.flush();
}

/**
 * All of `data` to `fd`, through short writes, and through EAGAIN (stderr may be a non-blocking
 * pipe) for up to EAGAIN_RETRY_MS; a reader that stays away that long costs the batch, which is
 * then said on the same descriptor rather than dropped without a word.
 */
function writeFully(fd: number, data: Buffer): void {
  let off = 0;
  let waited = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || waited >= EAGAIN_RETRY_MS) {
        const why = `agentspec: ${data.length - off} bytes of request log lines not written: ${(err as Error).message}\n`;
        // The descriptor itself failed: there is nowhere else this process logs to.
        writeSync(fd, why);
        return;
      }
      Atomics.wait(sleeper, 0, 0, 10);
      waited += 10;
    }
  }
}

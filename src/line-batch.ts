import { writeSync } from 'node:fs';

/** How long a write to a full non-blocking pipe is retried before the batch is given up (and said so). */
const EAGAIN_RETRY_MS = 1000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Lines gathered in memory and written to a file descriptor together: at `maxBytes`, after
 * `maxDelayMs`, or when `flush` is called. The log's request lines use it: one write per request
 * was a large share of the runtime's CPU per request, and pino's destination (sonic-boom) measures
 * the byte length of its whole pending buffer on every line it adds, which costs more than the
 * writes it saves once the buffer is a few kilobytes.
 */
export class LineBatch {
  private readonly fd: number;
  private readonly maxBytes: number;
  private readonly maxDelayMs: number;
  private lines: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(fd: number, opts: { maxBytes: number; maxDelayMs: number }) {
    this.fd = fd;
    this.maxBytes = opts.maxBytes;
    this.maxDelayMs = opts.maxDelayMs;
  }

  /** Adds one line (with its newline). */
  write(line: string): void {
    this.lines.push(line);
    // UTF-16 length: a bound near enough for when to write, and nothing to measure.
    this.bytes += line.length;
    if (this.bytes >= this.maxBytes) this.flush();
    else if (this.timer === undefined) {
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
    if (this.lines.length === 0) return;
    const text = this.lines.length === 1 ? this.lines[0]! : this.lines.join('');
    this.lines = [];
    this.bytes = 0;
    writeFully(this.fd, Buffer.from(text, 'utf8'));
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

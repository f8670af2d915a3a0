/**
 * A progress bar on stderr, so stdout stays clean for results. On a terminal it redraws one line; in a log (CI, a
 * pipe) it prints a line every tenth of the way instead of thousands of carriage returns.
 */
export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export class ProgressBar {
  private lastDecile = -1;
  private readonly startedAt = Date.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: ProgressStream = process.stderr,
  ) {}

  update(done: number, detail = ''): void {
    const fraction = this.total === 0 ? 1 : Math.min(1, done / this.total);
    const seconds = (Date.now() - this.startedAt) / 1000;
    const rate = seconds > 0 ? Math.round(done / seconds) : 0;
    const text = `${this.label} ${bar(fraction)} ${Math.floor(fraction * 100)}% ${done}/${this.total} (${rate}/s)${detail === '' ? '' : ` ${detail}`}`;
    if (this.stream.isTTY === true) {
      this.stream.write(`\r${text}\u001b[K`);
    } else {
      const decile = Math.floor(fraction * 10);
      if (decile > this.lastDecile) {
        this.lastDecile = decile;
        this.stream.write(`${text}\n`);
      }
    }
  }

  /** Ends the bar's line on a terminal, so what follows starts on a fresh line. */
  done(): void {
    if (this.stream.isTTY === true) this.stream.write('\n');
  }
}

const WIDTH = 24;
const bar = (fraction: number) => {
  const filled = Math.round(fraction * WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}]`;
};

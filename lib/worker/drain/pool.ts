/** The pool of running jobs: the slots they fill, and word when one ends. */

/** Running jobs of one drain. */
export class RunningPool {
  private readonly running = new Set<Promise<void>>();
  /** Jobs that ended so far: a sweep that overlapped an end may have read a stale picture. */
  settled = 0;

  constructor(private readonly onChange: () => void) {}

  /** Jobs running now. */
  get size(): number {
    return this.running.size;
  }

  /** Runs a job in a slot until `run`'s promise settles (it must handle its own errors). */
  add(run: () => Promise<void>): void {
    const p: Promise<void> = Promise.resolve()
      .then(run)
      .finally(() => {
        this.running.delete(p);
        this.settled++;
        this.onChange();
      });
    this.running.add(p);
  }

  /** Resolves when some running job ends (at once if none runs). */
  oneSettled(): Promise<void> {
    return this.running.size > 0 ? Promise.race(this.running) : Promise.resolve();
  }

  /** Resolves when every running job has ended. */
  async allSettled(): Promise<void> {
    while (this.running.size > 0) await Promise.race(this.running);
  }
}

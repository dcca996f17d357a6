import { AppError } from '../function/contracts/errors.js';

/** Refused when the queue is full: the API answers 503 with Retry-After, and the batch is recorded as failed. */
export class QueueFullError extends AppError {
  constructor(limit: number) {
    super('QUEUE_FULL', `The dev server already has ${limit} background batches waiting; try again later`);
    this.name = 'QueueFullError';
  }
}

/**
 * The dev server's background batches: a few run at once, a few more wait their turn, and the rest
 * are refused, so a burst of requests cannot queue hours of work. `drain` waits for all of them;
 * once the server stops, waiting batches still start, see the cancellation at once, and end
 * `cancelled` with their manifests instead of staying `accepted` forever.
 */
export class BackgroundJobs {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly all = new Set<Promise<unknown>>();

  constructor(private readonly limits: { running: number; waiting: number }) {}

  /** Starts `job` now or when a running one ends; throws QueueFullError when too many wait. */
  submit(job: () => Promise<unknown>): void {
    if (this.running >= this.limits.running && this.waiting.length >= this.limits.waiting) {
      throw new QueueFullError(this.limits.waiting);
    }
    const turn =
      this.running < this.limits.running
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            this.waiting.push(resolve);
          });
    if (this.running < this.limits.running) this.running++;
    const run = turn
      .then(job)
      .catch(() => {})
      .finally(() => {
        this.all.delete(run);
        const next = this.waiting.shift();
        if (next) next();
        else this.running--;
      });
    this.all.add(run);
  }

  /** Resolves once every submitted job (running or waiting) has ended. */
  async drain(): Promise<void> {
    while (this.all.size > 0) await Promise.allSettled([...this.all]);
  }
}

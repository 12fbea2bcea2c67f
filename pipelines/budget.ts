// Restart budget per component (like Frigate's): at most `max` restarts in a sliding window of
// `windowMs`. Beyond it the component is "failed": it is reported, and the systemd watchdog stops
// being fed so systemd restarts the whole service. Pure: the caller passes the clock.

export interface BudgetOptions {
  max: number;
  windowMs: number;
}

export class RestartBudget {
  private times: number[] = [];

  constructor(readonly opts: BudgetOptions) {}

  /** Record a restart at `now`; returns true while the component is still within its budget. */
  record(now: number): boolean {
    this.times.push(now);
    return this.ok(now);
  }

  /** Restarts inside the window ending at `now`. */
  count(now: number): number {
    const from = now - this.opts.windowMs;
    while (this.times.length && this.times[0] <= from) this.times.shift();
    return this.times.length;
  }

  /** Within budget: no more than `max` restarts in the window. */
  ok(now: number): boolean {
    return this.count(now) <= this.opts.max;
  }
}

/**
 * Error storm detector: `threshold` errors within `windowMs` means the component is broken even though
 * it still answers. Same sliding window as RestartBudget; reset() after acting on it.
 */
export class ErrorStorm {
  private budget: RestartBudget;

  constructor(threshold: number, windowMs: number) {
    this.budget = new RestartBudget({ max: threshold - 1, windowMs });
  }

  /** Record one error; true when this error completes a storm. */
  record(now: number): boolean {
    return !this.budget.record(now);
  }

  reset(): void {
    this.budget = new RestartBudget(this.budget.opts);
  }
}

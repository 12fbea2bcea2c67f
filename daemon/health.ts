// Health evaluation: pure functions from a snapshot of the components to "healthy or not, and why".
// The watchdog (daemon/watchdog.ts) feeds systemd only while evaluate() says healthy, serves
// /healthz from it and publishes it on {site}/{deviceId}/health.

export interface ComponentSnapshot {
  /** "engine" or "camera:<id>". */
  name: string;
  state: string;
  /** Restarts inside the budget window. */
  restartsInWindow: number;
  /** How long it has been running without a restart (ms); 0 when not running. */
  healthyForMs: number;
  lastError: string | null;
}

export interface HealthPolicy {
  /** Restart budget: more than this many restarts inside the window marks a component failed… */
  budgetMax: number;
  budgetWindowMs: number;
  /** …until it has run this long without trouble. */
  healthyResetMs: number;
  /** The engine may be down (restarting) this long before that alone is unhealthy. */
  engineDownMs: number;
}

export interface Verdict {
  healthy: boolean;
  reasons: string[];
  failed: string[];
}

/** Over budget and not yet proven healthy again. */
export function isFailed(c: ComponentSnapshot, p: HealthPolicy): boolean {
  return c.restartsInWindow > p.budgetMax && c.healthyForMs < p.healthyResetMs;
}

/**
 * A component over its restart budget fails the whole daemon (systemd then restarts the service).
 * A camera that is merely down (unplugged, backing off) does not: restarting the service cannot
 * bring a camera back, and its restarts slow down with backoff until they fit the budget again.
 * The engine being down longer than engineDownMs does: nothing gets classified without it.
 */
export function evaluate(components: ComponentSnapshot[], p: HealthPolicy, engineDownForMs: number): Verdict {
  const reasons: string[] = [];
  const failed: string[] = [];
  for (const c of components) {
    if (isFailed(c, p)) {
      failed.push(c.name);
      reasons.push(`${c.name}: ${c.restartsInWindow} restarts in ${Math.round(p.budgetWindowMs / 1000)} s (budget ${p.budgetMax})${c.lastError ? `; last error: ${c.lastError}` : ''}`);
    }
  }
  if (engineDownForMs > p.engineDownMs) {
    if (!failed.includes('engine')) failed.push('engine');
    reasons.push(`engine: not ready for ${Math.round(engineDownForMs / 1000)} s`);
  }
  return { healthy: failed.length === 0, reasons, failed };
}

/** Frames per second between two counter readings. */
export function rate(prevCount: number, prevAt: number, count: number, at: number): number {
  const dt = (at - prevAt) / 1000;
  if (dt <= 0 || count < prevCount) return 0;
  return Math.round(((count - prevCount) / dt) * 10) / 10;
}

/** What counts as a change worth publishing at once (not counters): health, failures, states. */
export function changeKey(v: Verdict, states: Record<string, string>): string {
  return JSON.stringify([v.healthy, v.failed, Object.entries(states).sort()]);
}

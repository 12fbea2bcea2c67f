// What edgectl prints about a rollout: a line per device per stage as the devices report them, the
// final table (who runs what, and why any failed), and the summary `edgectl status` shows.
import type { ModelRef, StatePayload } from '../ota/protocol.js';
import { sameModel } from './plan.js';
import type { DeviceRun, RolloutState } from './state.js';

const ref = (r: ModelRef | null | undefined) => (r ? `${r.name}@${r.version}` : '-');
const role = (d: DeviceRun) => (d.role === 'canary' ? 'canary' : `wave ${d.wave}`);

/** One line for a device's new stage (stderr, as the devices report). */
export function stageLine(d: DeviceRun): string {
  const what: Record<DeviceRun['stage'], string> = {
    pending: 'waiting',
    sending: 'sending',
    receiving: `received ${d.chunks?.[0]}/${d.chunks?.[1]} chunks`,
    received: `received ${d.chunks?.[1] ?? ''} chunks, bundle hash OK`.replace('  ', ' '),
    verified: 'verified (signature and hashes)',
    active: `active${d.code === 'ALREADY_ACTIVE' ? ' (already was)' : ''}${d.probationUntil ? `, probation until ${d.probationUntil}` : ''}`,
    passed: 'probation passed',
    failed: `FAILED ${d.code}: ${d.why}`,
    skipped: `not sent (${d.why})`,
  };
  return `${d.device} [${role(d)}]: ${what[d.stage]}`;
}

/** Prints stage lines, each device's stage once (a TTY gets the same lines: they scroll, they are not redrawn). */
export class StagePrinter {
  private last = new Map<string, string>();
  constructor(private readonly write: (s: string) => void) {}
  update(d: DeviceRun): void {
    const l = stageLine(d);
    if (this.last.get(d.device) === l) return;
    this.last.set(d.device, l);
    this.write(l + '\n');
  }
}

/** The final table: each device, its part in the rollout, what it ran before and runs now, and why it failed. */
export function rolloutTable(st: RolloutState, live: Map<string, StatePayload>): string {
  const rows = Object.values(st.devices).sort((a, b) => a.wave - b.wave || a.device.localeCompare(b.device));
  const w = Math.max(16, ...rows.map((d) => d.device.length + 1));
  const head = `${'device'.padEnd(w)} ${'role'.padEnd(7)} ${'before'.padEnd(20)} ${'now'.padEnd(20)} ${'result'.padEnd(16)} why`;
  const lines = rows.map((d) => {
    const now = live.get(d.device)?.active;
    const result = (d.stage === 'passed' || d.stage === 'active') && d.code === 'ALREADY_ACTIVE' ? 'ALREADY_ACTIVE' : d.stage === 'passed' ? 'PROBATION_PASSED' : d.stage === 'active' ? (d.probationUntil ? 'ACTIVE_PROBATION' : 'ACTIVE') : d.stage === 'failed' || d.stage === 'skipped' ? d.code ?? d.stage : `INTERRUPTED_${d.stage.toUpperCase()}`;
    const why = d.stage === 'failed' || d.stage === 'skipped' ? d.why ?? '' : d.stage === 'active' && d.probationUntil ? `on probation until ${d.probationUntil}` : '';
    return `${d.device.padEnd(w)} ${role(d).padEnd(7)} ${ref(d.before).padEnd(20)} ${ref(now).padEnd(20)} ${result.padEnd(16)} ${why}`;
  });
  const on = rows.filter((d) => sameModel(live.get(d.device)?.active, st.model)).length;
  const verdict =
    st.phase === 'done' ? `rollout done: ${on} of ${rows.length} device(s) run ${ref(st.model)}` :
    st.phase === 'stopped' ? `rollout STOPPED: ${st.stoppedBy}; ${on} of ${rows.length} device(s) run ${ref(st.model)}` :
    `rollout ${st.phase}: ${on} of ${rows.length} device(s) run ${ref(st.model)}`;
  return [head, ...lines, verdict].join('\n');
}

/** For `edgectl status`: the rollout record in a few lines. */
export function rolloutSummary(st: RolloutState, alive: boolean): string {
  const ds = Object.values(st.devices);
  const count = (s: DeviceRun['stage'][]) => ds.filter((d) => s.includes(d.stage)).length;
  const running = st.phase === 'canaries' || st.phase === 'waves';
  const state = running ? (alive ? `in progress (edgectl pid ${st.pid})` : 'INTERRUPTED (its edgectl is gone): edgectl rollout resume | edgectl rollout abort') : st.phase === 'interrupted' ? 'INTERRUPTED: edgectl rollout resume | edgectl rollout abort' : st.phase;
  const wave = Math.max(0, ...ds.filter((d) => d.stage !== 'pending' && d.stage !== 'skipped').map((d) => d.wave));
  return [
    `rollout ${st.id}: ${ref(st.model)} to ${st.target.group ? `group ${st.target.group}` : st.target.devices?.length ? st.target.devices.join(', ') : `every device of ${st.site}`} (${ds.length} device(s), ${st.plan.canaries.length} canary, ${st.plan.waves.length} wave(s)), started ${st.startedAt}`,
    `  ${state}${running ? `; at ${wave === 0 ? 'the canaries' : `wave ${wave} of ${st.plan.waves.length}`}` : ''}${st.stoppedBy ? `; stopped: ${st.stoppedBy}` : ''}`,
    `  passed ${count(['passed'])}, active ${count(['active'])}, in flight ${count(['sending', 'receiving', 'received', 'verified'])}, waiting ${count(['pending'])}, failed ${count(['failed'])}, not sent ${count(['skipped'])}`,
  ].join('\n');
}

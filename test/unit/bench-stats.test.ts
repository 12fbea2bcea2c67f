import t from 'tap';
import { capacity, descendants, dropRate, fairness, parseLoadavg, parseProcStat, parseProcStatus, percentile, slope } from '../bench/stats.js';

t.test('percentile: nearest rank', async (t) => {
  const xs = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
  t.equal(percentile(xs, 50), 5);
  t.equal(percentile(xs, 95), 10);
  t.equal(percentile(xs, 0), 1);
  t.equal(percentile([7], 99), 7);
  t.ok(Number.isNaN(percentile([], 50)));
});

t.test('parseProcStat: comm with spaces and parentheses', async (t) => {
  const line = '4242 (node (engine) x) S 4200 4242 4200 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 11 0 1234 1000 50';
  t.same(parseProcStat(line), { pid: 4242, comm: 'node (engine) x', ppid: 4200, ticks: 325, minflt: 100 });
  t.throws(() => parseProcStat('garbage'));
});

t.test('parseProcStatus: VmRSS and VmHWM', async (t) => {
  t.same(parseProcStatus('Name:\tnode\nVmHWM:\t  120000 kB\nVmRSS:\t   98000 kB\n'), { rssKb: 98000, hwmKb: 120000 });
  t.same(parseProcStatus('Name:\tkworker\n'), { rssKb: 0, hwmKb: 0 });
});

t.test('descendants: the whole tree below a pid', async (t) => {
  const tab = [{ pid: 10, ppid: 1 }, { pid: 11, ppid: 10 }, { pid: 12, ppid: 10 }, { pid: 13, ppid: 12 }, { pid: 20, ppid: 1 }];
  t.same(descendants(10, tab).sort(), [11, 12, 13]);
  t.same(descendants(20, tab), []);
});

t.test('fairness, drop rate, capacity', async (t) => {
  t.same(fairness([10, 5]), { min: 5, max: 10, ratio: 0.5 });
  t.same(fairness([]), { min: 0, max: 0, ratio: 0 });
  t.ok(Math.abs(dropRate(196, 2, 10, 10) - 0.02) < 1e-12);
  t.equal(dropRate(250, 2, 10, 10), 0, 'more results than sent (window edges) is 0, not negative');
  t.equal(dropRate(0, 0, 10, 10), 0);
  t.equal(capacity([{ cameras: 4, dropRate: 0.3 }, { cameras: 1, dropRate: 0 }, { cameras: 2, dropRate: 0.019 }]), 2);
  t.equal(capacity([{ cameras: 1, dropRate: 0.5 }, { cameras: 2, dropRate: 0 }]), 0, 'a pass after a fail does not count');
  t.equal(capacity([]), 0);
});

t.test('slope and load averages', async (t) => {
  t.equal(slope([0, 1, 2, 3], [10, 12, 14, 16]), 2);
  t.equal(slope([1], [5]), 0);
  t.same(parseLoadavg(' 17:38:03 up  1:17,  0 user,  load average: 3.98, 4.66, 4.87'), [3.98, 4.66, 4.87]);
  t.same(parseLoadavg('0.52 0.58 0.59 1/123 4567'), [0.52, 0.58, 0.59]);
});

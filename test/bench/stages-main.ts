// The session costs of stages.ts in a process of their own, started with the engine worker's
// environment (its malloc settings, D157): "as the daemon opens them" covers the allocator too, or the
// stage sum would be measured on a process the daemon does not run. Prints the result as JSON.
// Usage: node stages-main.js <package root> <runs> [sum]   (sum: the detector's and classifier's runs only)
import { runCosts, sessionCosts } from './stages.js';

const [root, runs, what] = process.argv.slice(2);
process.stdout.write(JSON.stringify(what === 'sum' ? await runCosts(root, Number(runs)) : await sessionCosts(root, Number(runs))));

// Prints the milliseconds one import() or require() of a package takes inside
// a process that has loaded nothing else: node cold/inproc.mjs <pkg> import|require
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const [pkg, how] = process.argv.slice(2);
const t0 = performance.now();
if (how === 'require') createRequire(import.meta.url)(pkg);
else await import(pkg);
console.log((performance.now() - t0).toFixed(3));

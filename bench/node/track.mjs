// One SDK's track benchmark, run by bench.mjs in a process of its own:
//
//   node track.mjs <sdk> <endpoint> <dir> <stateDir>
//
// It tracks rounds of ROUND events, each round far below the SDK's queue, and
// between rounds waits (untimed) until the SDK has had the round acknowledged
// by the collector, so every timed call takes the path where the event is
// kept. It prints one JSON line: the synchronous cost of the calls, the CPU
// the process spent per event over the timed rounds and their delivery, and
// the counts.

import { SDKS } from './sdks.mjs';

const ROUND = Number(process.env.BENCH_ROUND || 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 40);
const WARMUP = Number(process.env.BENCH_WARMUP || 8);
const FLUSH = Number(process.env.BENCH_FLUSH_MS || 5);
const DRAIN_TIMEOUT = 10000;

const [sdk, endpoint, dir, stateDir] = process.argv.slice(2);
const c = await SDKS[sdk].make({ endpoint, dir, stateDir, flushInterval: FLUSH });

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let tracked = 0;

async function drain() {
  const deadline = Date.now() + DRAIN_TIMEOUT;
  while (c.acked() < tracked || !c.idle()) {
    if (c.dropped() > 0 || Date.now() > deadline) {
      return false;
    }
    await sleep(1);
  }
  return true;
}

function fail(why) {
  console.log(JSON.stringify({ sdk, error: why, tracked, acked: c.acked(), dropped: Math.max(c.dropped(), tracked - c.acked()) }));
  process.exit(1);
}

for (let r = 0; r < WARMUP; r++) {
  for (let i = 0; i < ROUND; i++) c.track();
  tracked += ROUND;
  if (!(await drain())) fail(`warm-up round ${r} not delivered`);
}

const perCall = [];
const firstCall = [];
let total = 0n;
const cpu0 = process.cpuUsage();
const wall0 = process.hrtime.bigint();
for (let r = 0; r < ROUNDS; r++) {
  // The first call of a round is timed apart as well: it runs after the event
  // loop has done other work (the drain), with the caches cold.
  const t0 = process.hrtime.bigint();
  c.track();
  const tf = process.hrtime.bigint();
  for (let i = 1; i < ROUND; i++) c.track();
  const t1 = process.hrtime.bigint();
  tracked += ROUND;
  total += t1 - t0;
  perCall.push(Number(t1 - t0) / ROUND);
  firstCall.push(Number(tf - t0));
  if (!(await drain())) fail(`round ${r} not delivered`);
}
const wall = Number(process.hrtime.bigint() - wall0);
const cpu = process.cpuUsage(cpu0);
const events = ROUNDS * ROUND;

perCall.sort((a, b) => a - b);
firstCall.sort((a, b) => a - b);
const result = {
  sdk,
  round: ROUND,
  rounds: ROUNDS,
  events,
  // synchronous time inside track, per call: all timed calls, and the median round
  syncNs: Number(total) / events,
  syncMedianRoundNs: perCall[Math.floor(perCall.length / 2)],
  // the first call of a round, median
  firstCallNs: firstCall[Math.floor(firstCall.length / 2)],
  // CPU time of the whole process (all threads) per event, over the timed
  // rounds and their delivery: building, encoding, compressing and sending
  cpuUs: (cpu.user + cpu.system) / events,
  wallMs: wall / 1e6,
  tracked,
  acked: c.acked(),
  dropped: Math.max(c.dropped(), tracked - c.acked()),
};
await c.close();
console.log(JSON.stringify(result));

// Benchmarks of the Abacus Node.js SDK (@abacushq/telemetry) against
// posthog-node and @segment/analytics-node, in one run:
//
//   node bench.mjs [track] [exit] [cold] [--json]
//
// (all three parts when none is named). Every SDK tracks the same event with
// the same two properties; every figure is taken in this run, and the ratios
// compare figures of this run only.
//
// track  the synchronous cost of one track call on the path where the event
//        is kept (rounds of 500 calls, half the smallest bounded queue,
//        delivered between rounds untimed to a loopback collector answering
//        like each SDK's server; dropped events are counted and must be 0),
//        and the CPU the process spends per event over the rounds and their
//        delivery. Each SDK runs in a process of its own (track.mjs), the three
//        in turn, the first of the turn rotated, BENCH_TRACK_RUNS times
//        (default 7); a peer's ratio to Abacus is taken within each run, and
//        the median and range of the runs reported.
// exit   a script that tracks 10 events and ends as its SDK's docs say
//        (exit/*.mjs) against a black-holed endpoint (a loopback listener that
//        accepts and never answers): wall time from spawn to exit, minus that
//        of `node -e ''`. Abacus and the bare node alternate BENCH_EXIT_RUNS
//        times (default 9); the peers, which wait out their timeouts, run
//        BENCH_EXIT_PEER_RUNS times (default 3), all at once, after them.
// cold   added wall and CPU time of a script that only imports (or requires)
//        the package over a bare script of the same kind run in the same
//        round, and the time of the import itself measured inside the
//        process; BENCH_COLD_RUNS rounds (default 41), the order rotated each
//        round; medians and p90. BENCH_COLD_BASELINE=<dir> adds another copy
//        of clients/node (an earlier commit's) to the rounds.

import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { SDKS, collector, project, isolatedEnv, versionOf } from './sdks.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const names = ['abacus', 'posthog', 'segment'];
const args = process.argv.slice(2);
const asJSON = args.includes('--json');
const parts = args.filter((a) => !a.startsWith('--'));
const want = (p) => parts.length === 0 || parts.includes(p);
const num = (k, d) => Number(process.env[k] || d);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// run spawns node with args and resolves with the wall time from spawn to
// exit in milliseconds, the exit code and stdout. A child still running after
// killAfter ms is killed and reported as such.
function run(nodeArgs, { env, cwd = here, killAfter = 180000 } = {}) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, nodeArgs, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    let killed = false;
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, killAfter);
    child.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      clearTimeout(timer);
      resolve({ ms, code, killed, out, err });
    });
  });
}

const fmt = (x, digits = 0) => (x === undefined || Number.isNaN(x) ? '–' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));

async function benchTrack() {
  const runs = num('BENCH_TRACK_RUNS', 7);
  const results = Object.fromEntries(names.map((n) => [n, []]));
  const failures = [];
  for (let r = 0; r < runs; r++) {
    // The SDKs in turn, the first of the turn rotated each run.
    for (const sdk of [...names.slice(r % names.length), ...names.slice(0, r % names.length)]) {
      const col = await collector(sdk);
      const p = project();
      const res = await run(['track.mjs', sdk, col.endpoint, p.dir, p.stateDir], { env: isolatedEnv(p.root), killAfter: 120000 });
      await col.close();
      fs.rmSync(p.root, { recursive: true, force: true });
      let line;
      try {
        line = JSON.parse(res.out.trim().split('\n').pop());
      } catch {
        line = { sdk, error: `exit ${res.code}: ${res.err.trim().slice(0, 300)}` };
      }
      line.collectorReceived = col.state.received;
      line.collectorRefused = col.state.refused;
      if (line.error || line.dropped !== 0 || line.collectorReceived !== line.tracked) failures.push(line);
      results[sdk].push(line);
    }
  }
  // ratio is, for each run, a peer's figure over Abacus's in that run; runs
  // where either failed are left out.
  const ratios = (sdk, field) => results[sdk].map((x, i) => (x.error || results.abacus[i].error ? NaN : x[field] / results.abacus[i][field])).filter((x) => !Number.isNaN(x));
  const rows = names.map((sdk) => {
    const rs = results[sdk].filter((x) => !x.error);
    const rr = ratios(sdk, 'syncMedianRoundNs');
    const rm = ratios(sdk, 'syncNs');
    return {
      sdk,
      runs: rs.length,
      syncNs: median(rs.map((x) => x.syncNs)),
      syncMedianRoundNs: median(rs.map((x) => x.syncMedianRoundNs)),
      firstCallNs: median(rs.map((x) => x.firstCallNs)),
      syncMedianRoundNsMin: Math.min(...rs.map((x) => x.syncMedianRoundNs)),
      syncMedianRoundNsMax: Math.max(...rs.map((x) => x.syncMedianRoundNs)),
      ratioMedian: median(rr), ratioMin: Math.min(...rr), ratioMax: Math.max(...rr),
      ratioMeanMedian: median(rm), ratioMeanMin: Math.min(...rm),
      cpuUs: median(rs.map((x) => x.cpuUs)),
      events: rs.reduce((a, x) => a + x.tracked, 0),
      dropped: results[sdk].reduce((a, x) => a + (x.dropped || 0), 0),
      collectorReceived: results[sdk].reduce((a, x) => a + (x.collectorReceived || 0), 0),
    };
  });
  return { runs, round: num('BENCH_ROUND', 500), rounds: num('BENCH_ROUNDS', 40), warmup: num('BENCH_WARMUP', 8), rows, failures, raw: results };
}

async function benchExit() {
  const runs = num('BENCH_EXIT_RUNS', 9);
  const peerRuns = num('BENCH_EXIT_PEER_RUNS', 3);
  const held = new Set();
  const hole = net.createServer((sock) => {
    held.add(sock);
    sock.on('error', () => {});
    sock.on('close', () => held.delete(sock));
  });
  await new Promise((resolve) => hole.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${hole.address().port}`;
  const once = (sdk) => {
    const p = project();
    const env = isolatedEnv(p.root, { BENCH_ENDPOINT: endpoint, BENCH_DIR: p.dir, BENCH_STATE_DIR: p.stateDir });
    return run([path.join('exit', `${sdk}.mjs`)], { env, killAfter: 180000 }).then((res) => {
      fs.rmSync(p.root, { recursive: true, force: true });
      return res;
    });
  };
  const bare = [];
  const times = Object.fromEntries(names.map((n) => [n, []]));
  const closed = Object.fromEntries(names.map((n) => [n, []]));
  const codes = Object.fromEntries(names.map((n) => [n, []]));
  const record = (sdk, res) => {
    times[sdk].push(res.ms);
    const at = Number(res.out.trim());
    if (res.out.trim() !== '' && Number.isFinite(at)) closed[sdk].push(at);
    codes[sdk].push(res.killed ? 'killed' : res.code);
  };
  await run(['-e', '']); // warm the file cache
  for (let r = 0; r < runs; r++) {
    bare.push((await run(['-e', ''])).ms);
    record('abacus', await once('abacus'));
  }
  const peers = [];
  for (const sdk of names.slice(1)) {
    for (let r = 0; r < peerRuns; r++) {
      peers.push(once(sdk).then((res) => record(sdk, res)));
    }
  }
  await Promise.all(peers);
  for (const s of held) s.destroy();
  hole.close();
  const bareMs = median(bare);
  const rows = names.map((sdk) => ({
    sdk,
    runs: times[sdk].length,
    ms: median(times[sdk]) - bareMs,
    min: Math.min(...times[sdk]) - bareMs,
    max: Math.max(...times[sdk]) - bareMs,
    // when the close call returned, in ms since the process started
    closedMs: closed[sdk].length ? median(closed[sdk]) : undefined,
    codes: codes[sdk],
  }));
  return { bareMs, rows };
}

// quantile returns the q-quantile of xs (nearest rank).
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};

// coldVariants lists what the cold-start benchmark loads: each SDK from this
// package's node_modules and, when BENCH_COLD_BASELINE names another copy of
// clients/node (an earlier commit's, say), that copy as "abacus-baseline",
// loaded by the same scripts from a directory laid out like this one.
function coldVariants() {
  const vs = names.map((sdk) => ({ name: sdk, sdk, cwd: here }));
  const base = process.env.BENCH_COLD_BASELINE;
  if (!base) return { vs, cleanup: () => {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abacus-bench-cold-'));
  fs.mkdirSync(path.join(dir, 'cold'));
  for (const f of ['bare.mjs', 'bare.cjs', 'abacus-import.mjs', 'abacus-require.cjs', 'inproc.mjs', 'report.cjs']) {
    fs.copyFileSync(path.join(here, 'cold', f), path.join(dir, 'cold', f));
  }
  fs.copyFileSync(path.join(here, 'package.json'), path.join(dir, 'package.json'));
  fs.mkdirSync(path.join(dir, 'node_modules', '@abacushq'), { recursive: true });
  fs.symlinkSync(path.resolve(base), path.join(dir, 'node_modules', '@abacushq', 'telemetry'));
  vs.push({ name: 'abacus-baseline', sdk: 'abacus', cwd: dir });
  return { vs, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

// benchCold runs, in each of BENCH_COLD_RUNS rounds, the bare scripts and
// every variant's import and require scripts, in an order rotated each round.
// Each run of a variant is paired with the bare run of its kind in the same
// round: the added wall time (spawn to exit) and the added CPU time (user +
// system of the child, all threads, printed at exit by cold/report.cjs) are
// the differences within the pairs, reported as median and p90.
async function benchCold() {
  const runs = num('BENCH_COLD_RUNS', 41);
  const { vs, cleanup } = coldVariants();
  const report = path.join(here, 'cold', 'report.cjs');
  const jobs = [{ key: 'bare-import', cwd: here, script: 'bare.mjs' }, { key: 'bare-require', cwd: here, script: 'bare.cjs' }];
  for (const v of vs) {
    jobs.push({ key: `${v.name}-import`, cwd: v.cwd, script: `${v.sdk}-import.mjs`, kind: 'import' });
    jobs.push({ key: `${v.name}-require`, cwd: v.cwd, script: `${v.sdk}-require.cjs`, kind: 'require' });
  }
  const once = async (job, args) => {
    const res = await run(args, { cwd: job.cwd });
    if (res.code !== 0) throw new Error(`${job.cwd}: node ${args.join(' ')}: exit ${res.code}: ${res.err}`);
    return res;
  };
  const wall = Object.fromEntries(jobs.map((j) => [j.key, []]));
  const cpu = Object.fromEntries(jobs.map((j) => [j.key, []]));
  const inproc = Object.fromEntries(jobs.filter((j) => j.kind).map((j) => [j.key, []]));
  try {
    await run([path.join('cold', 'bare.mjs')]); // warm the file cache
    for (let r = 0; r < runs; r++) {
      const k = r % jobs.length;
      for (const job of [...jobs.slice(k), ...jobs.slice(0, k)]) {
        const res = await once(job, ['-r', report, path.join('cold', job.script)]);
        wall[job.key].push(res.ms);
        cpu[job.key].push(JSON.parse(res.out.trim().split('\n').pop()).cpuMs);
        if (job.kind) {
          const pkg = SDKS[job.script.split('-')[0]].pkg;
          const ip = await once(job, [path.join('cold', 'inproc.mjs'), pkg, job.kind]);
          inproc[job.key].push(Number(ip.out.trim()));
        }
      }
    }
  } finally {
    cleanup();
  }
  const added = (xs, kind) => xs.map((x, i) => x - (kind === 'import' ? wall['bare-import'] : wall['bare-require'])[i]);
  const addedCPU = (xs, kind) => xs.map((x, i) => x - (kind === 'import' ? cpu['bare-import'] : cpu['bare-require'])[i]);
  const rows = vs.map((v) => {
    const row = { sdk: v.name };
    for (const kind of ['import', 'require']) {
      const key = `${v.name}-${kind}`;
      const w = added(wall[key], kind);
      const c = addedCPU(cpu[key], kind);
      row[kind] = {
        ms: median(w), p90: quantile(w, 0.9),
        cpuMs: median(c), cpuP90: quantile(c, 0.9),
        inProcessMs: median(inproc[key]), inProcessP90: quantile(inproc[key], 0.9),
      };
    }
    return row;
  });
  return {
    runs,
    bareImportMs: median(wall['bare-import']), bareRequireMs: median(wall['bare-require']),
    bareImportCpuMs: median(cpu['bare-import']), bareRequireCpuMs: median(cpu['bare-require']),
    rows,
  };
}

const out = {
  node: process.version,
  versions: Object.fromEntries(names.map((n) => [n, `${SDKS[n].pkg} ${versionOf(n)}`])),
};
if (want('track')) out.track = await benchTrack();
if (want('exit')) out.exit = await benchExit();
if (want('cold')) out.cold = await benchCold();

if (asJSON) {
  console.log(JSON.stringify(out, null, 2));
} else {
  const t = out.track;
  const e = out.exit;
  const c = out.cold;
  const row = (sdk) => ({
    t: t && t.rows.find((x) => x.sdk === sdk),
    e: e && e.rows.find((x) => x.sdk === sdk),
  });
  console.log(`node ${out.node}; ${Object.values(out.versions).join(', ')}; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} at the end`);
  if (t || e) {
    if (t) console.log(`track: ${t.runs} runs per SDK of ${t.rounds} rounds × ${t.round} calls (after ${t.warmup} warm-up rounds), the SDKs in turn; ns/call: median round, median of the runs (min–max); × Abacus: the peer over Abacus in the same run, median of the runs (min–max); mean: all timed calls`);
    if (e) console.log(`exit: black-holed endpoint; bare \`node -e ''\` ${fmt(e.bareMs, 1)} ms (median) subtracted; runs: ${e.rows.map((x) => `${x.sdk} ${x.runs}`).join(', ')}`);
    console.log('');
    console.log('| SDK | track, ns/call (min–max) | × Abacus (min–max) | mean ns/call, × Abacus | first call of a round, ns | CPU per event, µs | dropped | host exit, ms (min–max) |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const sdk of names) {
      const r = row(sdk);
      const cols = [out.versions[sdk]];
      cols.push(r.t ? `${fmt(r.t.syncMedianRoundNs)} (${fmt(r.t.syncMedianRoundNsMin)}–${fmt(r.t.syncMedianRoundNsMax)})` : '–');
      cols.push(r.t ? (sdk === 'abacus' ? '1' : `${fmt(r.t.ratioMedian, 1)}× (${fmt(r.t.ratioMin, 1)}–${fmt(r.t.ratioMax, 1)})`) : '–');
      cols.push(r.t ? `${fmt(r.t.syncNs)}${sdk === 'abacus' ? '' : `, ${fmt(r.t.ratioMeanMedian, 1)}×`}` : '–');
      cols.push(r.t ? fmt(r.t.firstCallNs) : '–');
      cols.push(r.t ? fmt(r.t.cpuUs, 1) : '–');
      cols.push(r.t ? `${r.t.dropped} of ${fmt(r.t.events)}` : '–');
      cols.push(r.e && r.e.runs ? `${fmt(r.e.ms)} (${fmt(r.e.min)}–${fmt(r.e.max)})` : '–');
      console.log(`| ${cols.join(' | ')} |`);
    }
  }
  if (c) {
    console.log(`\ncold: ${c.runs} rounds; each run less the bare run of its kind in the same round (bare .mjs ${fmt(c.bareImportMs, 1)} ms, ${fmt(c.bareImportCpuMs, 1)} ms CPU; bare .cjs ${fmt(c.bareRequireMs, 1)} ms, ${fmt(c.bareRequireCpuMs, 1)} ms CPU; medians); median (p90)`);
    console.log('');
    console.log('| package | import, added wall | require, added wall | import, added CPU | require, added CPU | import, in-process | require, in-process |');
    console.log('|---|---|---|---|---|---|---|');
    const mp = (x, a, b) => `${fmt(x[a], 1)} (${fmt(x[b], 1)})`;
    for (const r of c.rows) {
      const label = r.sdk === 'abacus-baseline' ? `${out.versions.abacus} at BENCH_COLD_BASELINE` : out.versions[r.sdk];
      console.log(`| ${[label, mp(r.import, 'ms', 'p90'), mp(r.require, 'ms', 'p90'), mp(r.import, 'cpuMs', 'cpuP90'), mp(r.require, 'cpuMs', 'cpuP90'),
        mp(r.import, 'inProcessMs', 'inProcessP90'), mp(r.require, 'inProcessMs', 'inProcessP90')].join(' | ')} |`);
    }
  }
  if (t && t.failures.length) {
    console.log('\ntrack runs that dropped events or failed:');
    for (const f of t.failures) console.log(JSON.stringify(f));
  }
  if (e) {
    console.log(`\nexit: the close call returned, median, ms after the process started: ${e.rows.map((x) => `${x.sdk} ${fmt(x.closedMs)}`).join(', ')}`);
    for (const r of e.rows) {
      if (r.codes.some((x) => x !== 0)) console.log(`exit: ${r.sdk} exit codes ${r.codes.join(', ')}`);
    }
  }
}
if (out.track && out.track.failures.length) process.exitCode = 1;

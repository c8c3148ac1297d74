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
//        is kept (rounds of 100 calls, far below every SDK's queue, delivered
//        between rounds untimed to a loopback collector answering like each
//        SDK's server; dropped events are counted and must be 0), and the CPU
//        the process spends per event over the rounds and their delivery. Each
//        SDK runs in a process of its own (track.mjs), the three in turn,
//        BENCH_TRACK_RUNS times (default 5); medians.
// exit   a script that tracks 10 events and ends as its SDK's docs say
//        (exit/*.mjs) against a black-holed endpoint (a loopback listener that
//        accepts and never answers): wall time from spawn to exit, minus that
//        of `node -e ''`. Abacus and the bare node alternate BENCH_EXIT_RUNS
//        times (default 9); the peers, which wait out their timeouts, run
//        BENCH_EXIT_PEER_RUNS times (default 3), all at once, after them.
// cold   added wall time of a script that only imports (or requires) the
//        package over a bare script of the same kind, and the time of the
//        import itself measured inside the process; BENCH_COLD_RUNS rounds
//        (default 21), the scripts in turn; medians.

import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
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
  const runs = num('BENCH_TRACK_RUNS', 5);
  const results = Object.fromEntries(names.map((n) => [n, []]));
  const failures = [];
  for (let r = 0; r < runs; r++) {
    for (const sdk of names) {
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
  const rows = names.map((sdk) => {
    const rs = results[sdk].filter((x) => !x.error);
    return {
      sdk,
      runs: rs.length,
      syncNs: median(rs.map((x) => x.syncNs)),
      syncMedianRoundNs: median(rs.map((x) => x.syncMedianRoundNs)),
      cpuUs: median(rs.map((x) => x.cpuUs)),
      events: rs.reduce((a, x) => a + x.tracked, 0),
      dropped: results[sdk].reduce((a, x) => a + (x.dropped || 0), 0),
      collectorReceived: results[sdk].reduce((a, x) => a + (x.collectorReceived || 0), 0),
    };
  });
  return { runs, round: num('BENCH_ROUND', 100), rounds: num('BENCH_ROUNDS', 200), rows, failures, raw: results };
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

async function benchCold() {
  const runs = num('BENCH_COLD_RUNS', 21);
  const scripts = ['bare.mjs', 'bare.cjs'];
  for (const sdk of names) scripts.push(`${sdk}-import.mjs`, `${sdk}-require.cjs`);
  const wall = Object.fromEntries(scripts.map((s) => [s, []]));
  const inproc = {};
  for (const sdk of names) for (const how of ['import', 'require']) inproc[`${sdk}-${how}`] = [];
  await run([path.join('cold', 'bare.mjs')]); // warm the file cache
  for (let r = 0; r < runs; r++) {
    for (const s of scripts) {
      const res = await run([path.join('cold', s)]);
      if (res.code !== 0) throw new Error(`cold/${s}: exit ${res.code}: ${res.err}`);
      wall[s].push(res.ms);
    }
    for (const sdk of names) {
      for (const how of ['import', 'require']) {
        const res = await run([path.join('cold', 'inproc.mjs'), SDKS[sdk].pkg, how]);
        if (res.code !== 0) throw new Error(`cold/inproc.mjs ${SDKS[sdk].pkg} ${how}: exit ${res.code}: ${res.err}`);
        inproc[`${sdk}-${how}`].push(Number(res.out.trim()));
      }
    }
  }
  const bareMjs = median(wall['bare.mjs']);
  const bareCjs = median(wall['bare.cjs']);
  const rows = names.map((sdk) => ({
    sdk,
    importMs: median(wall[`${sdk}-import.mjs`]) - bareMjs,
    requireMs: median(wall[`${sdk}-require.cjs`]) - bareCjs,
    importInProcessMs: median(inproc[`${sdk}-import`]),
    requireInProcessMs: median(inproc[`${sdk}-require`]),
  }));
  return { runs, bareMjsMs: bareMjs, bareCjsMs: bareCjs, rows };
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
    c: c && c.rows.find((x) => x.sdk === sdk),
  });
  const a = row('abacus');
  console.log(`node ${out.node}; ${Object.values(out.versions).join(', ')}`);
  if (t) console.log(`track: ${t.runs} runs per SDK of ${t.rounds} rounds × ${t.round} calls (after 20 warm-up rounds); medians of the runs`);
  if (e) console.log(`exit: black-holed endpoint; bare \`node -e ''\` ${fmt(e.bareMs, 1)} ms (median) subtracted; runs: ${e.rows.map((x) => `${x.sdk} ${x.runs}`).join(', ')}`);
  if (c) console.log(`cold: ${c.runs} runs; bare .mjs ${fmt(c.bareMjsMs, 1)} ms, bare .cjs ${fmt(c.bareCjsMs, 1)} ms subtracted`);
  console.log('');
  console.log('| SDK | track, ns/call | × abacus | CPU per event, µs | dropped | host exit, ms (min–max) | import, ms (in-process) | require, ms (in-process) |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const sdk of names) {
    const r = row(sdk);
    const cols = [out.versions[sdk]];
    cols.push(r.t ? fmt(r.t.syncNs) : '–');
    cols.push(r.t && a.t ? (sdk === 'abacus' ? '1' : `${fmt(r.t.syncNs / a.t.syncNs, 1)}×`) : '–');
    cols.push(r.t ? fmt(r.t.cpuUs, 1) : '–');
    cols.push(r.t ? `${r.t.dropped} of ${fmt(r.t.events)}` : '–');
    cols.push(r.e && r.e.runs ? `${fmt(r.e.ms)} (${fmt(r.e.min)}–${fmt(r.e.max)})` : '–');
    cols.push(r.c ? `${fmt(r.c.importMs, 1)} (${fmt(r.c.importInProcessMs, 1)})` : '–');
    cols.push(r.c ? `${fmt(r.c.requireMs, 1)} (${fmt(r.c.requireInProcessMs, 1)})` : '–');
    console.log(`| ${cols.join(' | ')} |`);
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

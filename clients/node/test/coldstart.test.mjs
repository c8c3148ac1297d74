// Loading the package costs its host only the package's own code: no built-in
// module that a bare Node.js process has not loaded already (crypto, zlib,
// http, net, os, child_process are loaded when first needed, after the
// constructor has returned), and an import does not make Node scan the
// CommonJS bundle for the names it exports (cjs-module-lexer).
import './helpers/env.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runNode } from './helpers/child.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const UUID = '7b581c0d-89b7-479e-b379-a76ab90b8754';

// Built-in modules a bare script has not loaded and that take milliseconds
// to compile; and the lexer Node runs on a CommonJS module an ES module imports.
const HEAVY = /^(NativeModule (crypto|zlib|https?|_http_\w+|net|tls|dns|os|child_process|stream|worker_threads|readline)|Internal Binding (crypto|zlib|tcp_wrap|os)|NativeModule internal\/deps\/cjs-module-lexer\/.*)$/;

// loadIn writes a script of the given kind into a fresh directory and runs
// it: the script loads the package, makes an enabled client, tracks one event
// and prints the modules loaded by the load, and then by the constructor and
// the call, before the event loop turns.
async function loadIn(kind, env = {}) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'abacus-cold-'));
  try {
    const dir = path.join(tmp, 'project');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', app: { uuid: UUID } }));
    const body = `const t = new Telemetry({ product: 'app', version: '1.0.0', endpoint: 'http://127.0.0.1:9', dir: ${JSON.stringify(dir)}, stateDir: ${JSON.stringify(path.join(tmp, 'state'))} });
t.track('didStart', { durationMs: 1 });
const afterTrack = process.moduleLoadList.filter((m) => !before.has(m) && !afterLoad.includes(m));
console.log(JSON.stringify({ enabled: t.status().enabled, afterLoad, afterTrack }));
t.close();
`;
    let file;
    if (kind === 'require') {
      file = path.join(tmp, 'main.cjs');
      fs.writeFileSync(file, `const before = new Set(process.moduleLoadList);
const { Telemetry } = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});
const afterLoad = process.moduleLoadList.filter((m) => !before.has(m));
${body}`);
    } else {
      file = path.join(tmp, 'main.mjs');
      fs.writeFileSync(file, `const before = new Set(process.moduleLoadList);
const { Telemetry } = await import(${JSON.stringify(pathToFileURL(path.join(root, 'dist', 'index.mjs')).href)});
const afterLoad = process.moduleLoadList.filter((m) => !before.has(m));
${body}`);
    }
    const res = await runNode([file], { env: { XDG_CONFIG_HOME: path.join(tmp, 'config'), XDG_CACHE_HOME: path.join(tmp, 'cache'), ...env } });
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout.trim().split('\n').pop());
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

for (const kind of ['require', 'import']) {
  test(`${kind}: loading the package, the constructor and the first track load no heavy built-in module`, async () => {
    const r = await loadIn(kind);
    assert.equal(r.enabled, true);
    assert.deepEqual(r.afterLoad.filter((m) => HEAVY.test(m)), [], `loaded by the ${kind}`);
    assert.deepEqual(r.afterTrack.filter((m) => HEAVY.test(m)), [], 'loaded by the constructor and track');
  });
}

test('opted out, with no spool to set aside: the constructor loads no heavy built-in module', async () => {
  for (const env of [{ DO_NOT_TRACK: '1' }, { APP_TELEMETRY_DISABLED: '1' }]) {
    const r = await loadIn('require', env);
    assert.equal(r.enabled, false);
    assert.deepEqual(r.afterTrack.filter((m) => HEAVY.test(m)), [], `loaded by the constructor under ${JSON.stringify(env)}`);
  }
});

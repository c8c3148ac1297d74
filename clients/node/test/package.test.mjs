// The package as npm users get it: the build is the sources', the tarball is
// small and holds only what runs, require and import both work and share one
// instance, and the conformance vectors pass against the installed copy.
import './helpers/env.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runNode } from './helpers/child.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const MAX_UNPACKED = 60000; // bytes

test('dist/ is built from the current sources', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'abacus-build-'));
  try {
    execFileSync(process.execPath, ['--expose-internals', path.join(root, 'scripts', 'build.js'), out]);
    for (const f of fs.readdirSync(out)) {
      assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(root, 'dist', f))), `dist/${f} is stale: run npm run build`);
    }
    assert.deepEqual(fs.readdirSync(path.join(root, 'dist')).sort(), fs.readdirSync(out).sort());
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('package.json: no dependencies, Node.js 18 floor, exports for import and require with types', () => {
  assert.equal(pkg.dependencies, undefined);
  assert.equal(pkg.peerDependencies, undefined);
  assert.equal(pkg.engines.node, '>=18');
  const e = pkg.exports['.'];
  assert.deepEqual(Object.keys(e), ['import', 'require']);
  assert.equal(Object.keys(e.import)[0], 'types');
  assert.equal(Object.keys(e.require)[0], 'types');
});

test('the packed tarball holds only what runs, and unpacks to at most 60 KB', () => {
  const [info] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  const files = info.files.map((f) => f.path).sort();
  assert.deepEqual(files, ['README.md', 'dist/index.js', 'dist/index.mjs', 'index.d.mts', 'index.d.ts', 'package.json']);
  console.log(`# packed ${info.size} bytes, unpacked ${info.unpackedSize} bytes`);
  assert.ok(info.unpackedSize <= MAX_UNPACKED, `unpacked size ${info.unpackedSize} bytes, limit ${MAX_UNPACKED}`);
});

test('the shipped code uses no API newer than Node.js 18', () => {
  const code = fs.readFileSync(path.join(root, 'dist', 'index.js'), 'utf8');
  // APIs added after Node.js 18 (or only in later 18.x without a guard).
  for (const api of ['toWellFormed', 'isWellFormed', 'Object.groupBy', 'Map.groupBy', 'withResolvers', 'fromAsync', 'AbortSignal.any',
    'import.meta.dirname', 'import.meta.filename', 'getBuiltinModule', 'globSync', '.union(', '.intersection(', 'navigator.', 'process.features.typescript']) {
    assert.ok(!code.includes(api), `dist/index.js uses ${api}`);
  }
  assert.match(code, /typeof \w+\.availableParallelism==='function'/, 'os.availableParallelism (18.14) is guarded');
});

test('installed from the tarball: require and import work, share one instance, and pass the conformance vectors', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'abacus-pack-'));
  try {
    execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp], { cwd: root, stdio: 'ignore' });
    const tgz = fs.readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    const dest = path.join(tmp, 'app', 'node_modules', '@abacushq', 'telemetry');
    fs.mkdirSync(dest, { recursive: true });
    execFileSync('tar', ['-xzf', path.join(tmp, tgz), '-C', dest, '--strip-components=1']);
    const app = path.join(tmp, 'app');
    const names = ['SDK_VERSION', 'Telemetry', 'createProject', 'disable', 'enable', 'errorCode', 'recent'];
    const cjs = await runNode(['-e', `const t = require('@abacushq/telemetry'); console.log(JSON.stringify(Object.keys(t).sort()), t.errorCode(Object.assign(new Error('x'), { code: 'ENOENT' })))`], { cwd: app });
    assert.equal(cjs.code, 0, cjs.stderr);
    assert.equal(cjs.stdout.trim(), `${JSON.stringify(names)} ENOENT`);
    const esm = await runNode(['--input-type=module', '-e', `import * as t from '@abacushq/telemetry'; import { createRequire } from 'node:module';
const r = createRequire(process.cwd() + '/x.js')('@abacushq/telemetry');
console.log(JSON.stringify(Object.keys(t).filter((k) => k !== 'default').sort()), t.Telemetry === r.Telemetry)`], { cwd: app });
    assert.equal(esm.code, 0, esm.stderr);
    assert.equal(esm.stdout.trim(), `${JSON.stringify(names)} true`);
    const conf = await runNode(['--test', path.join(root, 'test', 'conformance.test.mjs')], { env: { ABACUS_SDK: path.join(dest, 'dist', 'index.mjs'), NODE_TEST_CONTEXT: undefined }, timeout: 120000 });
    assert.equal(conf.code, 0, conf.stdout.slice(-3000));
    assert.match(conf.stdout, /# fail 0/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

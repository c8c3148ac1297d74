// The shared conformance vectors of ../../testdata/conformance (README.md there
// is their contract), run through the public API, so that the same runner
// checks the sources and the published build: ABACUS_SDK names the module to
// test (default: ../index.mjs). Cases that need the SDK's inner functions
// (machine-ID derivation, project keys) run against the sources too.
import './helpers/env.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startCollector } from './helpers/collector.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const vectors = path.resolve(here, '..', '..', '..', 'testdata', 'conformance');
const target = process.env.ABACUS_SDK ? path.resolve(process.env.ABACUS_SDK) : path.resolve(here, '..', 'index.mjs');
const sdk = await import(pathToFileURL(target).href);
const require = createRequire(import.meta.url);
const internal = {
  config: require('../lib/config.js'),
  machineid: require('../lib/machineid.js'),
  manifest: require('../lib/manifest.js'),
};

// Each file, the fields its cases may have (required ones first) and its runner.
const FILES = {
  'consent.json': { fields: ['name', 'product', 'env', 'optOutFile', 'manifest', 'enabled', 'reason'], required: 7, run: consentCase },
  'redaction.json': { fields: ['name', 'in', 'out', 'home'], required: 3, run: redactionCase },
  'manifest.json': { fields: ['name', 'product', 'uuid', 'in', 'inBase64', 'out', 'outBase64', 'id', 'error'], required: 3, run: manifestCase },
  'machine-id.json': { fields: ['name', 'raw', 'product', 'usable', 'id'], required: 4, run: machineIDCase },
  'error-code.json': { fields: ['name', 'expected', 'code', 'errno'], required: 2, run: errorCodeCase },
  'environment.json': { fields: ['name', 'product', 'env', 'expected'], required: 4, run: environmentCase },
  'do-not-track.json': { fields: ['name', 'value', 'optOut'], required: 3, run: doNotTrackCase },
  'paths.json': { fields: ['name', 'os', 'env', 'product', 'stateDir', 'optOutFile', 'projectDir', 'projectKey'], required: 1, run: pathCase },
  'wire-event.json': { run: null },
  'dropped-by.json': { fields: ['name', 'key', 'when', 'only'], required: 3, run: droppedByCase },
};

const UUID = '7b581c0d-89b7-479e-b379-a76ab90b8754';
const baseEnv = { ...process.env };

// withEnv runs fn with the SDK's variables cleared, a fresh user (HOME, XDG
// directories) and env set; everything is restored afterwards.
async function withEnv(env, products, fn) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'abacus-conf-'));
  for (const k of Object.keys(process.env)) if (!(k in baseEnv)) delete process.env[k];
  Object.assign(process.env, baseEnv);
  const clear = ['DO_NOT_TRACK', 'NODE_ENV', 'APP_ENV', 'CI'];
  for (const p of products) {
    const pre = internal.config.envPrefix(p);
    clear.push(`${pre}_TELEMETRY_DISABLED`, `${pre}_TELEMETRY_DEBUG`, `${pre}_ENV`);
  }
  for (const k of clear) delete process.env[k];
  Object.assign(process.env, { HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), XDG_CACHE_HOME: path.join(home, 'cache') }, env);
  try {
    return await fn(home);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in baseEnv)) delete process.env[k];
    Object.assign(process.env, baseEnv);
    fs.rmSync(home, { recursive: true, force: true });
  }
}

// debugEvent tracks one event in debug mode and returns it as printed.
async function debugEvent(product, dir, props) {
  const lines = [];
  const t = new sdk.Telemetry({ product, dir, stateDir: path.join(dir, 'state'), debug: (l) => lines.push(l) });
  process.env[internal.config.envPrefix(product) + '_TELEMETRY_DEBUG'] = '1';
  const d = new sdk.Telemetry({ product, dir, stateDir: path.join(dir, 'state'), debug: (l) => lines.push(l) });
  await t.close();
  d.track('conformance', props);
  await d.close();
  assert.equal(lines.length, 1, `debug mode printed ${lines.length} lines: ${d.status().reason}`);
  return JSON.parse(lines[0]);
}

function projectDir(product, home) {
  const dir = fs.mkdtempSync(path.join(home, 'project-'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ [product]: { uuid: UUID } }));
  return dir;
}

async function consentCase(tc) {
  await withEnv(tc.env, [tc.product, 'strapi', 'cms', 'my-cms'], async (home) => {
    if (tc.optOutFile) await sdk.disable();
    const dir = fs.mkdtempSync(path.join(home, 'project-'));
    if (tc.manifest !== null) fs.writeFileSync(path.join(dir, 'package.json'), tc.manifest);
    const t = new sdk.Telemetry({ product: tc.product, endpoint: 'http://127.0.0.1:9', dir, stateDir: path.join(home, 'state') });
    const s = t.status();
    await t.close();
    assert.equal(s.enabled, tc.enabled, s.reason);
    assert.ok(s.reason.startsWith(tc.reason), `reason ${JSON.stringify(s.reason)}, want one starting with ${JSON.stringify(tc.reason)}`);
  });
}

async function doNotTrackCase(tc) {
  await withEnv({ DO_NOT_TRACK: tc.value }, ['strapi'], async (home) => {
    const dir = projectDir('strapi', home);
    const t = new sdk.Telemetry({ product: 'strapi', endpoint: 'http://127.0.0.1:9', dir, stateDir: path.join(home, 'state') });
    const s = t.status();
    await t.close();
    assert.equal(s.enabled, !tc.optOut, `DO_NOT_TRACK=${JSON.stringify(tc.value)}: ${s.reason}`);
    if (tc.optOut) assert.ok(s.reason.startsWith('DO_NOT_TRACK'), s.reason);
  });
}

async function redactionCase(tc) {
  // A property value goes through the sanitizer on its way to the wire; the
  // home directory is the user's (os.homedir() reads HOME).
  await withEnv(tc.home ? { HOME: tc.home } : {}, ['strapi'], async (home) => {
    const ev = await debugEvent('strapi', projectDir('strapi', home), { value: tc.in });
    assert.equal(ev.properties.value, tc.out, `sanitize(${JSON.stringify(tc.in)})`);
  });
}

async function environmentCase(tc) {
  await withEnv(tc.env, [tc.product], async (home) => {
    const ev = await debugEvent(tc.product, projectDir(tc.product, home), {});
    assert.equal(ev.environment, tc.expected);
  });
}

function errorCodeCase(tc) {
  assert.ok((tc.code === undefined) !== (tc.errno === undefined), 'a case has either a code or an errno');
  let err;
  if (tc.code !== undefined) {
    err = new Error('failed: a message that must not matter');
    err.code = tc.code;
  } else {
    assert.ok(tc.errno in os.constants.errno, `no errno named ${tc.errno} on this system`);
    // The shape of Node's system errors: code, errno, syscall, path.
    err = Object.assign(new Error(`${tc.errno}: open '/x'`), { code: tc.errno, errno: -os.constants.errno[tc.errno], syscall: 'open', path: '/x' });
  }
  assert.equal(sdk.errorCode(err), tc.expected);
  // Wrapped as a cause, the code is found too.
  assert.equal(sdk.errorCode(new Error('wrapped', { cause: err })), tc.expected);
}

function decodeBytes(text, b64) {
  return b64 !== undefined ? Buffer.from(b64, 'base64') : Buffer.from(text, 'utf8');
}

// checkEdit checks, independently of the vector, that out is in with one run
// of bytes inserted and reads as in plus <product>.uuid = id.
function checkEdit(inp, out, product, id) {
  let p = 0;
  while (p < inp.length && inp[p] === out[p]) p++;
  let s = 0;
  while (s < inp.length - p && inp[inp.length - 1 - s] === out[out.length - 1 - s]) s++;
  const strip = (b) => (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? b.subarray(3) : b).toString('utf8');
  const a = JSON.parse(strip(inp));
  const b = JSON.parse(strip(out));
  // Only a uuid was filled in or added: in and out differ in one place.
  const inserted = out.length - inp.length;
  assert.ok(p + s >= inp.length - 38 && inserted > 0, 'more than one run of bytes changed');
  assert.equal(b[product].uuid, id);
  a[product] = { ...(a[product] || {}), uuid: id };
  assert.deepEqual(b, a);
}

async function manifestCase(tc) {
  assert.ok((tc.error === undefined) !== (tc.id === undefined), 'a case has either an error or an id');
  const inp = decodeBytes(tc.in, tc.inBase64);
  const want = tc.error ? null : decodeBytes(tc.out, tc.outBase64);
  // The edit itself, with the vector's generator.
  if (!process.env.ABACUS_SDK) {
    let r;
    try {
      r = internal.manifest.addProjectID(inp, tc.product, () => tc.uuid);
    } catch (err) {
      assert.ok(tc.error, `edit: ${err.message}`);
      assert.equal(err.kind, tc.error, err.message);
    }
    if (!tc.error) {
      assert.ok(r, 'the edit failed');
      assert.equal(r.id, tc.id);
      assert.deepEqual(r.out || inp, want);
    } else assert.equal(r, undefined, `edit succeeded (${r && r.id}), want error ${tc.error}`);
  }
  // The same through createProject, on disk, with a random new ID.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abacus-manifest-'));
  try {
    const file = path.join(dir, 'package.json');
    fs.writeFileSync(file, inp);
    const old = new Date('2020-01-02T03:04:05Z');
    fs.utimesSync(file, old, old);
    let id;
    let error;
    try {
      id = await sdk.createProject(dir, tc.product);
    } catch (err) {
      error = err;
    }
    const got = fs.readFileSync(file);
    if (tc.error) {
      assert.ok(error, `createProject succeeded (${id}), want error ${tc.error}`);
      assert.equal(error.kind, tc.error, error.message);
      assert.match(error.message, /^cannot create project ID in ".*package\.json": /);
      assert.deepEqual(got, inp, 'the file was changed');
      assert.equal(fs.statSync(file).mtimeMs, old.getTime(), 'the file was written');
    } else {
      assert.equal(error, undefined, error && error.message);
      if (inp.equals(want)) {
        assert.equal(id, tc.id);
        assert.deepEqual(got, inp);
        assert.equal(fs.statSync(file).mtimeMs, old.getTime(), 'the file was written though nothing changed');
      } else {
        assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        assert.equal(tc.id, tc.uuid, 'a new ID is the generated one');
        assert.deepEqual(got, Buffer.from(want.toString('latin1').split(tc.uuid).join(id), 'latin1'));
        checkEdit(inp, got, tc.product, id);
      }
      // Idempotent: a second call returns the same ID and writes nothing.
      const again = await sdk.createProject(dir, tc.product);
      assert.equal(again, id);
      assert.deepEqual(fs.readFileSync(file), got);
      if (!process.env.ABACUS_SDK) {
        const r = internal.manifest.readProjectID(dir, tc.product);
        assert.deepEqual([r.id, r.state], [id, 'ok']);
      }
    }
    assert.deepEqual(fs.readdirSync(dir), ['package.json'], 'a temporary or lock file was left behind');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function machineIDCase(tc) {
  const { usableMachineID, machineID } = internal.machineid;
  assert.equal(usableMachineID(tc.raw), tc.usable, `usable(${JSON.stringify(tc.raw)})`);
  const state = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'abacus-mid-')), 'state');
  try {
    const r = machineID(tc.product, state, tc.raw);
    assert.equal(r.error, '');
    if (tc.usable) {
      assert.equal(r.id, tc.id);
      assert.ok(!fs.existsSync(state), 'a usable OS ID wrote the state directory');
      return;
    }
    assert.equal(tc.id, undefined, 'an unusable case has no id');
    const file = path.join(state, 'machine-id');
    const b = fs.readFileSync(file, 'utf8');
    assert.match(b, /^[0-9a-f]{32}\n$/);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(r.id, crypto.createHmac('sha256', tc.product).update(b.trim()).digest('hex'));
    // The next run reads the same fallback.
    assert.equal(machineID(tc.product, state, tc.raw).id, r.id);
  } finally {
    fs.rmSync(path.dirname(state), { recursive: true, force: true });
  }
}

const OS = { linux: 'linux', darwin: 'darwin', windows: 'win32' };

async function pathCase(tc) {
  if (tc.projectDir !== undefined) {
    assert.equal(internal.config.projectKeyOf(tc.projectDir), tc.projectKey);
    return;
  }
  // Every OS's case against the path functions, as that OS would run them.
  const { defaultStateDir, optOutPath } = internal.config;
  assert.equal(defaultStateDir(tc.product, OS[tc.os], tc.env), tc.stateDir);
  assert.equal(optOutPath(OS[tc.os], tc.env), tc.optOutFile);
  if (OS[tc.os] !== process.platform) return;
  // This OS's cases through the public API.
  const keys = ['HOME', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'LocalAppData', 'AppData'];
  const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  try {
    for (const k of keys) delete process.env[k];
    Object.assign(process.env, tc.env);
    const s = new sdk.Telemetry({ product: tc.product, endpoint: 'http://127.0.0.1:9', dir: os.tmpdir() }).status();
    assert.equal(s.stateDir, tc.stateDir);
    assert.equal(s.optOutFile, tc.optOutFile);
  } finally {
    for (const k of keys) if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k];
  }
}

const WIRE_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const WIRE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function checkType(v, typ, where) {
  const ok = {
    uuid: () => typeof v === 'string' && WIRE_UUID.test(v),
    hex64: () => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v),
    timestamp: () => typeof v === 'string' && WIRE_TIMESTAMP.test(v),
    string: () => typeof v === 'string',
    environment: () => ['development', 'staging', 'production', 'test', 'other'].includes(v),
    int: () => Number.isInteger(v),
    bool: () => typeof v === 'boolean',
    object: () => v !== null && typeof v === 'object' && !Array.isArray(v),
    array: () => Array.isArray(v),
  }[typ];
  assert.ok(ok, `unknown type ${typ} in the vector`);
  assert.ok(ok(), `${where}: ${JSON.stringify(v)} is not a ${typ}`);
}

function checkFields(where, obj, required, optional = {}) {
  assert.ok(obj && typeof obj === 'object', `${where}: not an object`);
  for (const [k, v] of Object.entries(obj)) {
    const typ = required[k] || optional[k];
    assert.ok(typ, `${where}: unexpected field ${k}`);
    checkType(v, typ, `${where}.${k}`);
  }
  for (const k of Object.keys(required)) assert.ok(k in obj, `${where}: missing field ${k}`);
}

async function wireEvent(spec) {
  assert.deepEqual(Object.keys(spec).sort(), ['context', 'envelope', 'event', 'optional', 'product']);
  for (const m of Object.values(spec)) assert.ok(Object.keys(m).length > 0, 'a section of wire-event.json is empty');
  const c = await startCollector();
  try {
    await withEnv({}, ['strapi'], async (home) => {
      const dir = projectDir('strapi', home);
      const t = new sdk.Telemetry({ product: 'strapi', version: '5.3.1', endpoint: c.url, dir, stateDir: path.join(home, 'state'), build: { plugins: ['i18n'] }, closeBudget: 5000 });
      t.track('didStartServer', { durationMs: 1234 });
      t.track('ping');
      await t.close();
      assert.equal(t.status().sent, 2, JSON.stringify(t.status()));
    });
    assert.equal(c.requests.length, 1);
    const batch = JSON.parse(c.requests[0].body);
    checkFields('envelope', batch, spec.envelope);
    assert.equal(batch.events.length, 2);
    batch.events.forEach((ev, i) => {
      checkFields(`events[${i}]`, ev, spec.event, spec.optional);
      checkFields(`events[${i}].context`, ev.context, spec.context);
      checkFields(`events[${i}].product`, ev.product, spec.product);
    });
    assert.ok('properties' in batch.events[0], 'the event with properties has none on the wire');
    assert.ok(!('properties' in batch.events[1]), 'the event without properties has a properties field');
  } finally {
    await c.close();
  }
}

// droppedByCase: status().droppedBy carries the reason's key (zero on a fresh
// client) unless the reason is another SDK's only.
function droppedByCase(tc) {
  assert.ok(tc.only === undefined || tc.only === 'go', `only: expected "go", got ${JSON.stringify(tc.only)}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abacus-drop-'));
  const t = new sdk.Telemetry({ product: 'strapi', endpoint: 'http://127.0.0.1:9', dir, stateDir: path.join(dir, 'state') });
  const by = t.status().droppedBy;
  if (tc.only) assert.ok(!(tc.key in by), `droppedBy has ${tc.key}, a reason of the ${tc.only} SDK only`);
  else assert.equal(by[tc.key], 0, `droppedBy lacks ${tc.key} (${tc.name})`);
  fs.rmSync(dir, { recursive: true, force: true });
}

test('droppedBy has no key the vectors do not list', () => {
  const cases = JSON.parse(fs.readFileSync(path.join(vectors, 'dropped-by.json'), 'utf8')).cases;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abacus-drop-'));
  const by = new sdk.Telemetry({ product: 'strapi', endpoint: 'http://127.0.0.1:9', dir, stateDir: path.join(dir, 'state') }).status().droppedBy;
  fs.rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(Object.keys(by).sort(), cases.filter((c) => !c.only).map((c) => c.key).sort());
});

const names = fs.readdirSync(vectors).filter((n) => n !== 'README.md').sort();

test('every vector file has a runner, and every runner a file', () => {
  for (const n of names) assert.ok(n in FILES, `unknown conformance file ${n}: add a runner for it`);
  for (const n of Object.keys(FILES)) assert.ok(names.includes(n), `conformance file ${n} is missing`);
});

for (const name of names) {
  const spec = FILES[name];
  if (!spec) continue;
  const data = JSON.parse(fs.readFileSync(path.join(vectors, name), 'utf8'));
  if (name === 'wire-event.json') {
    test(name, () => wireEvent(data));
    continue;
  }
  test(name, async (t) => {
    assert.deepEqual(Object.keys(data), ['cases'], `${name}: expected an object with "cases" only`);
    assert.ok(Array.isArray(data.cases) && data.cases.length > 0, `${name}: no cases`);
    const seen = new Set();
    for (const tc of data.cases) {
      for (const k of Object.keys(tc)) assert.ok(spec.fields.includes(k), `${name}: case ${JSON.stringify(tc.name)} has unknown field ${k}`);
      for (const k of spec.fields.slice(0, spec.required)) assert.ok(k in tc, `${name}: case ${JSON.stringify(tc.name)} lacks ${k}`);
      assert.ok(typeof tc.name === 'string' && tc.name && !seen.has(tc.name), `${name}: case name ${JSON.stringify(tc.name)} is empty or not unique`);
      seen.add(tc.name);
      await t.test(tc.name, () => spec.run(tc));
    }
  });
}

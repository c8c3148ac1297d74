// Opt-outs: no request, no file, and what earlier runs spooled is deleted.
import './helpers/env.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Telemetry, disable, enable } from '../index.mjs';
import { startCollector, startBlackHole, project, listFiles, noFilesSoon } from './helpers/collector.mjs';

const optOutFile = () => path.join(process.env.XDG_CONFIG_HOME, 'abacus', 'telemetry-disabled');

async function optedOut(setup, reason, { userLevel }) {
  const p = project();
  const c = await startCollector();
  const bh = await startBlackHole();
  const saved = { ...process.env };
  try {
    // An earlier run spooled an event.
    const t0 = new Telemetry({ product: 'demo', endpoint: bh.url, dir: p.dir, stateDir: p.stateDir });
    t0.track('before');
    await t0.close();
    assert.equal(listFiles(path.join(p.stateDir, 'spool')).length, 1);
    const before = listFiles(p.stateDir);
    await setup(p);
    const t = new Telemetry({ product: 'demo', endpoint: c.url, dir: p.dir, stateDir: p.stateDir });
    // The spool is set aside at once (nothing in it can be sent any more) and
    // deleted in the background, never in the constructor.
    assert.deepEqual(listFiles(path.join(p.stateDir, 'spool')), [], 'the spool is still where a run reads it');
    assert.ok(listFiles(p.stateDir).some((f) => f.startsWith('spool.discard-')), 'the spool was deleted on the caller\'s path');
    const s = t.status();
    assert.equal(s.enabled, false);
    assert.ok(s.reason.startsWith(reason), `reason ${JSON.stringify(s.reason)} does not start with ${reason}`);
    t.track('after', { n: 1 });
    await t.close();
    assert.equal(t.status().tracked, 0);
    for (let i = 0; i < 200 && listFiles(p.stateDir).some((f) => f.startsWith('spool')); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(c.requests.length, 0);
    // No file was written: only the spool file is gone.
    assert.deepEqual(listFiles(p.stateDir), before.filter((f) => !f.startsWith('spool/')));
    void userLevel;
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    try { fs.unlinkSync(optOutFile()); } catch { /* not there */ }
    await c.close();
    await bh.close();
    p.cleanup();
  }
}

for (const v of ['1', 'true', 'on', '2', 'y', ' YES ']) {
  test(`DO_NOT_TRACK=${JSON.stringify(v)} opts out`, () => optedOut(() => { process.env.DO_NOT_TRACK = v; }, 'DO_NOT_TRACK', { userLevel: true }));
}

test('DO_NOT_TRACK=0, false, no, off and empty do not opt out', () => {
  const p = project();
  try {
    for (const v of ['0', 'false', 'no', 'off', ' OFF ', '']) {
      process.env.DO_NOT_TRACK = v;
      const t = new Telemetry({ product: 'demo', endpoint: 'http://127.0.0.1:9', dir: p.dir, stateDir: p.stateDir });
      assert.equal(t.status().reason, 'enabled', `DO_NOT_TRACK=${JSON.stringify(v)}`);
      t._exitSync();
    }
  } finally {
    delete process.env.DO_NOT_TRACK;
    p.cleanup();
  }
});

test('<PRODUCT>_TELEMETRY_DISABLED opts out', () => optedOut(() => { process.env.DEMO_TELEMETRY_DISABLED = '1'; }, 'DEMO_TELEMETRY_DISABLED', { userLevel: true }));

test('disable() writes the opt-out file every product reads; enable() removes it', async () => {
  await optedOut(() => disable(), 'opt-out file', { userLevel: true });
  await disable();
  assert.ok(fs.existsSync(optOutFile()));
  assert.match(fs.readFileSync(optOutFile(), 'utf8'), /disabled for this user/);
  await enable();
  assert.ok(!fs.existsSync(optOutFile()));
  await enable(); // twice is fine
});

test('a project without a uuid is opted out', () => optedOut((p) => {
  fs.writeFileSync(path.join(p.dir, 'package.json'), '{"name": "p"}\n');
}, 'no uuid', { userLevel: false }));

test('a project without package.json is opted out', () => optedOut((p) => {
  fs.unlinkSync(path.join(p.dir, 'package.json'));
}, 'no package.json', { userLevel: false }));

test('an invalid package.json is opted out', () => optedOut((p) => {
  fs.writeFileSync(path.join(p.dir, 'package.json'), '{"name": ');
}, 'invalid package.json', { userLevel: false }));

test('a project opt-out keeps the spool of other projects; a user opt-out clears all', async () => {
  const a = project();
  const b = project();
  const bh = await startBlackHole();
  try {
    const stateDir = a.stateDir;
    for (const p of [a, b]) {
      const t = new Telemetry({ product: 'demo', endpoint: bh.url, dir: p.dir, stateDir });
      t.track('x');
      await t.close();
    }
    assert.equal(listFiles(path.join(stateDir, 'spool')).length, 2);
    fs.writeFileSync(path.join(a.dir, 'package.json'), '{}');
    new Telemetry({ product: 'demo', endpoint: bh.url, dir: a.dir, stateDir });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(listFiles(path.join(stateDir, 'spool')).length, 1);
    process.env.DO_NOT_TRACK = '1';
    new Telemetry({ product: 'demo', endpoint: bh.url, dir: b.dir, stateDir });
    assert.deepEqual(await noFilesSoon(path.join(stateDir, 'spool')), []);
  } finally {
    delete process.env.DO_NOT_TRACK;
    await bh.close();
    a.cleanup();
    b.cleanup();
  }
});

test('an opt-out through a symlinked project directory clears what was spooled under the real path', async () => {
  const p = project();
  const bh = await startBlackHole();
  try {
    const t = new Telemetry({ product: 'demo', endpoint: bh.url, dir: p.dir, stateDir: p.stateDir });
    t.track('x');
    await t.close();
    const link = path.join(p.root, 'link');
    fs.symlinkSync(p.dir, link);
    fs.writeFileSync(path.join(p.dir, 'package.json'), '{}');
    new Telemetry({ product: 'demo', endpoint: bh.url, dir: link, stateDir: p.stateDir });
    assert.deepEqual(await noFilesSoon(path.join(p.stateDir, 'spool')), []);
  } finally {
    await bh.close();
    p.cleanup();
  }
});

test('invalid options give a disabled client that says which option', () => {
  for (const [o, field] of [
    [{ product: 'Bad Name' }, 'options.product'],
    [{ product: 'demo', endpoint: 'ftp://x' }, 'options.endpoint'],
    [{ product: 'demo', closeBudget: -1, endpoint: 'http://x' }, 'options.closeBudget'],
    [undefined, 'an object of options'],
  ]) {
    const t = new Telemetry(o);
    const s = t.status();
    assert.equal(s.enabled, false);
    assert.ok(s.reason.startsWith('invalid options:') && s.reason.includes(field), s.reason);
  }
});

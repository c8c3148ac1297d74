// No exception ever reaches the host: odd values thrown at every public
// function, from a seeded generator so that a failure can be replayed.
import './helpers/env.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '../index.mjs';
import { startCollector, project } from './helpers/collector.mjs';

function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}

const throwingProxy = new Proxy({}, {
  get() { throw new Error('get trap'); },
  ownKeys() { throw new Error('ownKeys trap'); },
  getOwnPropertyDescriptor() { throw new Error('descriptor trap'); },
  has() { throw new Error('has trap'); },
  getPrototypeOf() { throw new Error('prototype trap'); },
});
const keysProxy = new Proxy({ a: 1 }, { get() { throw new Error('get trap'); } });
const getterThrows = Object.defineProperty({ ok: 1 }, 'bad', { enumerable: true, get() { throw new Error('getter'); } });
const cyclic = { name: 'x' };
cyclic.self = cyclic;
const nullProto = Object.assign(Object.create(null), { a: 1, b: 'two' });
const hugeString = 'x'.repeat(4 << 20);
const manyKeys = Object.fromEntries(Array.from({ length: 20000 }, (_, i) => ['k' + i, i]));
const lyingArray = new Proxy([1, 2, 3], { get(t, k) { if (k === 'length') return 1e9; return t[k]; } });
const toStringThrows = { toString() { throw new Error('toString'); }, valueOf() { throw new Error('valueOf'); } };
const errorWithThrowingCode = Object.defineProperty(new Error('m'), 'code', { get() { throw new Error('code getter'); } });
const revoked = Proxy.revocable({}, {});
revoked.revoke();

const odd = [
  undefined, null, 0, -0, NaN, Infinity, -Infinity, 2 ** 53 + 2, 10n ** 30n, -5n, '', ' ', '\u0000', '\ud800', hugeString,
  Symbol('s'), Symbol.iterator, true, false, [], [[[]]], {}, Object.create(null), nullProto, cyclic, getterThrows,
  throwingProxy, keysProxy, revoked.proxy, lyingArray, toStringThrows, errorWithThrowingCode, manyKeys,
  () => { throw new Error('fn'); }, new Date(NaN), /re/g, new Map([[1, 2]]), new Set([1]), new Uint8Array(4),
  Promise.reject(new Error('rejected')).catch(() => {}) && Promise.resolve(), new WeakMap(), globalThis, process,
  { durationMs: 1, list: [1, 'a', true, null, {}], nested: { deep: cyclic } }, [cyclic, throwingProxy],
  { toJSON() { throw new Error('toJSON'); } }, Object.freeze({ a: 1 }),
];

test('nothing thrown at any public function reaches the host', async () => {
  const p = project();
  const c = await startCollector();
  const unhandled = [];
  const onUnhandled = (e) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  const random = rng(Number(process.env.SEED) || 20261203);
  const pick = () => odd[Math.floor(random() * odd.length)];
  try {
    const clients = [new api.Telemetry({ product: 'demo', endpoint: c.url, dir: p.dir, stateDir: p.stateDir })];
    for (const o of odd) clients.push(new api.Telemetry(o));
    for (let i = 0; i < 60; i++) {
      clients.push(new api.Telemetry({ product: pick(), endpoint: pick(), dir: pick(), stateDir: pick(), build: pick(), debug: pick(), closeBudget: pick(), environment: pick(), version: pick() }));
      clients.push(new api.Telemetry({ product: 'demo', endpoint: c.url, dir: p.dir, stateDir: p.stateDir, build: pick(), environment: pick(), version: 'v' }));
    }
    for (let i = 0; i < 3000; i++) {
      const t = clients[Math.floor(random() * clients.length)];
      assert.doesNotThrow(() => t.track(pick(), pick()));
      if (i % 7 === 0) assert.doesNotThrow(() => t.track('ok', { v: pick(), w: pick() }));
      if (i % 97 === 0) assert.doesNotThrow(() => t.status());
      if (i % 113 === 0) assert.doesNotThrow(() => t.recent());
    }
    for (const v of odd) {
      assert.doesNotThrow(() => api.errorCode(v));
      assert.match(api.errorCode(v), /^([A-Z0-9_]{1,64})?$/);
      assert.doesNotThrow(() => api.recent(v));
      assert.doesNotThrow(() => api.recent('demo', v));
      let r;
      assert.doesNotThrow(() => { r = api.createProject(v, pick()); });
      await r.catch((e) => assert.ok(e instanceof Error && e.message.startsWith('cannot create project ID'), e.message));
      assert.doesNotThrow(() => { r = api.createProject(p.dir, v); });
      // A non-empty string is a product name the Go SDK accepts too.
      await r.then((id) => assert.ok(typeof v === 'string' && v !== '' && typeof id === 'string'), (e) => assert.ok(e instanceof Error));
    }
    await new Promise((r) => setImmediate(r));
    for (const t of clients) {
      let pr;
      assert.doesNotThrow(() => { pr = t.close(); });
      await pr;
      assert.doesNotThrow(() => t.status());
      assert.doesNotThrow(() => t.track('after', pick()));
    }
    const s = clients[0].status();
    assert.equal(s.tracked, s.sent + s.rejected + s.spooled + s.dropped + s.printed, JSON.stringify(s));
    for (const t of clients) {
      const st = t.status();
      if (st.enabled) assert.equal(st.tracked, st.sent + st.rejected + st.spooled + st.dropped + st.printed, JSON.stringify(st));
    }
    assert.ok(c.events.length > 0, 'the valid events were delivered');
    for (const ev of c.events) assert.equal(typeof ev.event, 'string');
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
    await c.close();
    p.cleanup();
  }
});

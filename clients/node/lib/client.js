'use strict';
// The client: consent decided once in the constructor; track copies and
// queues; everything else (machine facts, encoding, redaction, sending, the
// spool) happens later, on the event loop, never in the caller's call.

const fs = require('node:fs');
const path = require('node:path');
const { resolveOptions, envPrefix, truthy, optOutPath, projectKey } = require('./config.js');
const { consent, ENABLED } = require('./consent.js');
const { detectEnvironment, normalizeEnvironment, detectContext } = require('./context.js');
const { rawMachineID, machineID } = require('./machineid.js');
const { props, pairsOf, validEventName } = require('./values.js');
const { eventID } = require('./ids.js');
const { Sender, DELIVERED, RETRY, TOO_LARGE } = require('./transport.js');
const { Spool, setAside, discardLeftovers, MAX_EVENT_BYTES } = require('./spool.js');
const { appendRecent, readRecent } = require('./recent.js');

const BATCH_SIZE = 200; // events a request carries at most
const MAX_PENDING_BYTES = 4 << 20; // encoded events held while the collector is away
const MAX_QUEUE_BYTES = 4 << 20; // estimated bytes of events waiting to be encoded
const MAX_TRACK_KEYS = 64; // property keys track copies, as many as an event may carry
const MAX_BATCH_BYTES = 1 << 20; // encoded events of one request
const BACKOFF_BASE = 500;
const BACKOFF_MAX = 60000;

// Clients not yet closed, for the process hooks: beforeExit flushes them
// within their budget, exit spools what is left, synchronously.
// RECENT_WAIT_MS bounds how long close waits for the record of what was
// sent to be written (it is taken from the spool's reserve of the budget).
const RECENT_WAIT_MS = 50;

const live = new Set();
let hooked = false;

function hook() {
  if (hooked) return;
  hooked = true;
  process.on('beforeExit', () => {
    for (const c of live) c._beforeExit();
  });
  process.on('exit', () => {
    for (const c of [...live]) c._exitSync();
  });
}

function backoff(n) {
  const d = n < 20 ? Math.min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (n - 1)) : BACKOFF_MAX;
  return d / 2 + Math.random() * (d / 2);
}

function newCounts() {
  return {
    tracked: 0, sent: 0, spooled: 0, dropped: 0, rejected: 0, printed: 0, droppedValues: 0, recovered: 0,
    droppedBy: { queueFull: 0, invalidName: 0, tooLarge: 0, memory: 0, refused: 0, spool: 0, error: 0 },
    resent: 0, spoolDropped: 0, spoolLoaded: 0,
  };
}

class Telemetry {
  constructor(options) {
    this._enabled = false;
    this._open = false;
    this._debug = false;
    this._reason = 'no options';
    this._lastError = '';
    this._c = newCounts();
    this._cfg = null;
    try {
      this._setup(options);
    } catch (err) {
      this._enabled = false;
      this._open = false;
      this._c.recovered++;
      this._lastError = `telemetry: internal error: ${describe(err)}`;
    }
  }

  _setup(options) {
    let cfg;
    try {
      cfg = resolveOptions(options);
    } catch (err) {
      this._reason = `invalid options: ${err.message}`;
      this._lastError = err.message;
      return;
    }
    this._cfg = cfg;
    const env = process.env;
    const decision = consent(cfg, env);
    this._reason = decision.reason;
    this._spoolRoot = path.join(cfg.stateDir, 'spool');
    if (decision.reason !== ENABLED) {
      // Opting out also discards what earlier runs could not send: the spool
      // is renamed aside at once (one rename, as the Go SDK does), so nothing
      // in it is ever sent, and deleted in the background. Without a spool
      // there is nothing to rename, and no project key to hash (hashing
      // loads node:crypto, milliseconds a disabled client need not cost).
      const root = this._spoolRoot;
      setAside(cfg.stateDir, !fs.existsSync(root) ? '' : decision.userOptOut ? root : path.join(root, projectKey(cfg.dir)));
      return;
    }
    this._debug = truthy(env[envPrefix(cfg.product) + '_TELEMETRY_DEBUG']);
    if (!cfg.endpoint && !this._debug) {
      this._reason = `invalid options: options.endpoint: required to send events (or set ${envPrefix(cfg.product)}_TELEMETRY_DEBUG=1)`;
      this._lastError = this._reason;
      return;
    }
    this._enabled = true;
    this._open = true;
    this._projectID = decision.id;
    this._q = []; // records: track → _drain
    this._qBytes = 0;
    this._drainScheduled = false;
    this._own = []; // encoded events of this run, oldest first
    this._old = []; // encoded events of earlier runs, from the spool
    this._pendingBytes = 0;
    this._flight = null;
    this._retryTimer = null;
    this._attempts = 0;
    this._batchLimit = BATCH_SIZE;
    this._flushDue = false;
    this._inited = false;
    this._closing = false;
    this._closed = false;
    this._closePromise = null;
    this._drainBound = () => this._drain();
    hook();
    live.add(this);
    // An immediate runs on the next turn of the loop and holds it no longer.
    setImmediate(() => this._safe(() => {
      this._init();
      this._maybeSend();
    }));
  }

  // track records one event with its properties. It never throws, never
  // blocks, and does no I/O or encoding: it copies the properties (shallowly,
  // at most 256 keys) and queues them. A full queue drops the event and counts
  // it. Properties past 64 are left out (which ones of a larger object is
  // unspecified) and counted in droppedValues.
  track(name, properties) {
    if (!this._open) return;
    try {
      this._c.tracked++;
      if (this._q.length >= this._cfg.queueSize || this._qBytes >= MAX_QUEUE_BYTES) {
        this._drop('queueFull', 1);
        return;
      }
      let pairs = null;
      let left = 0;
      let est = 512;
      if (properties !== null && typeof properties === 'object') {
        const p = pairsOf(properties, MAX_TRACK_KEYS);
        pairs = p.pairs;
        left = p.left;
        for (let i = 0; i < pairs.length; i += 2) {
          const v = pairs[i + 1];
          est += 16 + pairs[i].length + (typeof v === 'string' ? v.length : 16);
        }
      }
      this._q.push({ name, at: Date.now(), pairs, left });
      this._qBytes += est;
      if (!this._drainScheduled) {
        this._drainScheduled = true;
        setImmediate(this._drainBound);
      }
    } catch {
      this._c.recovered++;
      this._drop('error', 1);
    }
  }

  // close sends what is queued and stops the client, within the close budget
  // (300 ms by default) whatever the network does; what is not acknowledged
  // by then is spooled for the next run. It never rejects.
  close() {
    try {
      if (!this._enabled) return Promise.resolve();
      if (this._closePromise) return this._closePromise;
      this._open = false;
      this._closing = true;
      this._closePromise = new Promise((resolve) => {
        this._closeResolve = resolve;
      });
      const start = Date.now();
      this._safe(() => {
        this._init();
        this._drainNow();
        if (this._debug) return this._finishClose();
        if (this._flushTimer) clearInterval(this._flushTimer);
        // A third of the budget (at most 100 ms) is kept for writing the spool;
        // what init and encoding took counts.
        const budget = this._cfg.closeBudget;
        const reserve = Math.min(budget / 3, 100);
        // Ref'd on purpose: the host waits for the budget, no longer.
        this._closeTimer = setTimeout(() => this._safe(() => this._closeTimeout()), Math.max(0, budget - reserve - (Date.now() - start)));
        this._closeStep();
      }, () => this._finishClose());
      return this._closePromise;
    } catch {
      return Promise.resolve();
    }
  }

  // status reports what the client decided and what it has done so far:
  // tracked = sent + rejected + spooled + dropped + printed + pending, and after
  // close pending is 0.
  status() {
    try {
      const c = this._c;
      const s = {
        enabled: this._enabled,
        reason: this._reason,
        debug: this._debug,
        tracked: c.tracked,
        sent: c.sent,
        spooled: c.spooled,
        dropped: c.dropped,
        droppedBy: { ...c.droppedBy },
        droppedValues: c.droppedValues,
        rejected: c.rejected,
        printed: c.printed,
        pending: 0,
        resent: c.resent,
        spoolDropped: c.spoolDropped,
        spoolLoaded: c.spoolLoaded,
        recovered: c.recovered,
        lastError: this._lastError,
        closed: !!this._closed,
        product: this._cfg ? this._cfg.product : '',
        projectDir: this._cfg ? this._cfg.dir : '',
        stateDir: this._cfg ? this._cfg.stateDir : '',
        recentFile: this._cfg ? path.join(this._cfg.stateDir, 'recent.jsonl') : '',
        optOutFile: '',
      };
      try {
        s.optOutFile = optOutPath();
      } catch {
        s.optOutFile = '';
      }
      if (this._enabled && !this._closed) {
        s.pending = this._q.length + this._own.length + this._old.length + (this._flight ? this._flight.events.length : 0);
      }
      return s;
    } catch {
      return { enabled: false, reason: 'status unavailable', tracked: 0, sent: 0, spooled: 0, dropped: 0, pending: 0, recovered: 1 };
    }
  }

  // recent returns the last events the collector acknowledged, as the JSON
  // text that was sent, oldest first.
  recent() {
    try {
      return this._cfg ? readRecent(this._cfg.stateDir) : [];
    } catch {
      return [];
    }
  }

  // --- the loop ------------------------------------------------------------

  _safe(fn, onError) {
    try {
      return fn();
    } catch (err) {
      this._c.recovered++;
      this._lastError = `telemetry: internal error: ${describe(err)}`;
      if (onError) {
        try {
          onError();
        } catch {
          // nothing more to do
        }
      }
      return undefined;
    }
  }

  _drop(reason, n) {
    this._c.dropped += n;
    this._c.droppedBy[reason] += n;
  }

  // _init does the I/O the constructor must not: machine facts, the machine
  // ID, the spool of earlier runs.
  _init() {
    if (this._inited) return;
    this._inited = true;
    const cfg = this._cfg;
    let home = '';
    try {
      home = require('node:os').homedir();
    } catch {
      home = '';
    }
    this._rules = { home, absolutePaths: true };
    this._build = null;
    if (cfg.build) {
      const b = props(pairsOf(cfg.build, MAX_TRACK_KEYS).pairs, this._rules);
      this._build = b.out;
      this._c.droppedValues += b.dropped;
    }
    const mid = machineID(cfg.product, cfg.stateDir, rawMachineID());
    if (mid.error) this._lastError = mid.error;
    this._template = {
      projectId: this._projectID,
      machineId: mid.id,
      sessionId: eventID(Date.now()),
      environment: cfg.environment ? normalizeEnvironment(cfg.environment) : detectEnvironment(cfg.product),
      product: { name: cfg.product, version: cfg.version },
      context: detectContext(),
    };
    if (this._debug) return;
    this._sender = new Sender(cfg.endpoint);
    this._spool = new Spool(this._spoolRoot, cfg.dir);
    try {
      const old = this._spool.load();
      this._old = old;
      this._c.spoolLoaded += old.length;
      for (const e of old) this._pendingBytes += e.raw.length;
    } catch (err) {
      this._lastError = `cannot load the spool: ${describe(err)}`;
    }
    this._flushTimer = setInterval(() => this._safe(() => {
      this._flushDue = true;
      this._drainNow();
      this._maybeSend();
    }), cfg.flushInterval);
    this._flushTimer.unref();
  }

  _drain() {
    this._drainScheduled = false;
    this._safe(() => {
      this._init();
      this._drainNow();
      this._maybeSend();
    });
  }

  _drainNow() {
    const q = this._q;
    if (q.length === 0) return;
    this._q = [];
    this._qBytes = 0;
    for (const r of q) this._encode(r);
  }

  // _encode builds the event of one record. A value that makes it throw costs
  // that event only.
  _encode(r) {
    try {
      if (!validEventName(r.name)) {
        this._drop('invalidName', 1);
        return;
      }
      const t = this._template;
      const ev = {
        id: eventID(r.at),
        event: r.name,
        timestamp: new Date(r.at).toISOString(),
        projectId: t.projectId,
        machineId: t.machineId,
        sessionId: t.sessionId,
        environment: t.environment,
        product: t.product,
        context: t.context,
      };
      if (this._build) ev.build = this._build;
      this._c.droppedValues += r.left;
      if (r.pairs) {
        const p = props(r.pairs, this._rules);
        this._c.droppedValues += p.dropped;
        if (p.out) ev.properties = p.out;
      }
      const raw = JSON.stringify(ev);
      const size = Buffer.byteLength(raw);
      if (size > MAX_EVENT_BYTES) {
        this._drop('tooLarge', 1);
        this._lastError = `event ${JSON.stringify(r.name)} dropped: encoded to ${size} bytes, limit ${MAX_EVENT_BYTES}`;
        return;
      }
      if (this._debug) {
        this._print(raw);
        return;
      }
      this._own.push({ id: ev.id, raw, own: true });
      this._pendingBytes += raw.length;
      this._bound();
    } catch (err) {
      this._c.recovered++;
      this._drop('error', 1);
      this._lastError = `telemetry: internal error: ${describe(err)}`;
    }
  }

  _print(raw) {
    const out = this._cfg.debug || process.stderr;
    try {
      if (typeof out === 'function') out(raw);
      else out.write(raw + '\n');
      this._c.printed++;
    } catch (err) {
      this._drop('error', 1);
      this._lastError = `cannot print event: ${describe(err)}`;
    }
  }

  // _bound keeps the events held in memory under MAX_PENDING_BYTES, dropping
  // the oldest: earlier runs' first, then this run's.
  _bound() {
    while (this._pendingBytes > MAX_PENDING_BYTES && this._old.length > 0) {
      this._pendingBytes -= this._old.shift().raw.length;
      this._c.spoolDropped++;
    }
    while (this._pendingBytes > MAX_PENDING_BYTES && this._own.length > 0) {
      this._pendingBytes -= this._own.shift().raw.length;
      this._drop('memory', 1);
    }
  }

  _maybeSend() {
    if (!this._enabled || this._debug || this._closed || !this._inited) return;
    if (this._closing) return;
    if (this._flight || this._retryTimer) return;
    const n = this._own.length + this._old.length;
    if (n === 0) {
      this._flushDue = false;
      return;
    }
    if (n < this._batchLimit && !this._flushDue) return;
    this._startFlight(false);
    if (this._own.length + this._old.length === 0) this._flushDue = false;
  }

  // _startFlight sends the next batch: earlier runs' events first while the
  // program runs, this run's first when closing on a short budget.
  _startFlight(ownFirst) {
    const [a, b] = ownFirst ? [this._own, this._old] : [this._old, this._own];
    // At most batchLimit events and MAX_BATCH_BYTES, and at least one.
    const events = [];
    let bytes = 0;
    for (const list of [a, b]) {
      let n = 0;
      while (n < list.length && events.length < this._batchLimit && (events.length === 0 || bytes + list[n].raw.length <= MAX_BATCH_BYTES)) {
        bytes += list[n].raw.length;
        events.push(list[n]);
        n++;
      }
      list.splice(0, n);
    }
    for (const e of events) this._pendingBytes -= e.raw.length;
    const flight = { events, handle: null };
    this._flight = flight;
    flight.handle = this._sender.post(events.map((e) => e.raw), (res) => this._safe(() => this._finish(flight, res)));
  }

  _requeue(events) {
    const own = events.filter((e) => e.own);
    const old = events.filter((e) => !e.own);
    this._own = own.concat(this._own);
    this._old = old.concat(this._old);
    for (const e of events) this._pendingBytes += e.raw.length;
    this._bound();
  }

  _finish(flight, res) {
    if (this._flight !== flight) return;
    this._flight = null;
    const c = this._c;
    const events = flight.events;
    switch (res.verdict) {
      case DELIVERED: {
        this._attempts = 0;
        this._batchLimit = BATCH_SIZE;
        const rejected = new Set();
        const list = res.answer && Array.isArray(res.answer.rejected) ? res.answer.rejected : [];
        for (const r of list) if (r && Number.isInteger(r.index)) rejected.add(r.index);
        events.forEach((e, i) => {
          if (e.own) c[rejected.has(i) ? 'rejected' : 'sent']++;
          else c[rejected.has(i) ? 'spoolDropped' : 'resent']++;
        });
        if (list.length > 0) {
          const first = list[0] && typeof list[0].error === 'string' ? list[0].error.slice(0, 200) : '';
          this._lastError = `collector rejected ${list.length} events, first: ${first}`;
        }
        this._spool.acked(events);
        // The record holds the batch the collector acknowledged, as it was sent.
        // Written off the host's thread; close waits for it, within its budget.
        const w = appendRecent(this._cfg.stateDir, events.map((e) => e.raw)).then((err) => {
          if (err) this._lastError = err;
        });
        this._recentWrite = w;
        w.then(() => {
          if (this._recentWrite === w) this._recentWrite = null;
        });
        break;
      }
      case TOO_LARGE:
        if (events.length > 1) {
          this._batchLimit = Math.max(1, Math.floor(events.length / 2));
          this._requeue(events);
        } else {
          this._dropEvents(events, 'tooLarge');
          this._lastError = res.error;
          this._spool.acked(events);
        }
        break;
      case RETRY: {
        this._attempts++;
        this._lastError = res.error;
        this._requeue(events);
        const wait = res.retryAfter > 0 ? res.retryAfter : backoff(this._attempts);
        if (!this._closing) {
          this._retryTimer = setTimeout(() => {
            this._retryTimer = null;
            this._safe(() => this._maybeSend());
          }, wait);
          this._retryTimer.unref();
        } else {
          this._retryWait = true; // no new attempt before close ends
        }
        break;
      }
      default:
        this._dropEvents(events, 'refused');
        this._lastError = res.error;
        this._spool.acked(events);
    }
    if (this._closing) this._closeStep();
    else this._maybeSend();
  }

  _dropEvents(events, reason) {
    for (const e of events) {
      if (e.own) this._drop(reason, 1);
      else this._c.spoolDropped++;
    }
  }

  _closeStep() {
    if (this._closed || this._flight) return;
    if (this._over || this._retryTimer || this._retryWait || this._own.length + this._old.length === 0) {
      this._finishClose();
      return;
    }
    this._startFlight(true);
  }

  _closeTimeout() {
    this._over = true;
    if (this._flight) this._flight.handle.abort();
    this._finishClose();
  }

  // _finishClose spools every unacknowledged event, synchronously, and ends
  // the client.
  _finishClose() {
    if (this._closed) return;
    this._closed = true;
    this._open = false;
    live.delete(this);
    clearTimeout(this._closeTimer);
    clearTimeout(this._retryTimer);
    clearInterval(this._flushTimer);
    this._retryTimer = null;
    try {
      if (this._flight) {
        const f = this._flight;
        this._flight = null;
        this._over = true;
        f.handle.abort();
        this._requeue(f.events);
      }
      // Earlier runs' events not delivered are still in their spool files.
      this._old = [];
      if (this._spool && this._own.length > 0) {
        const unsent = this._own;
        this._own = [];
        this._pendingBytes = 0;
        const r = this._spool.save(unsent);
        this._c.spooled += r.written;
        if (r.dropped) this._drop('spool', r.dropped);
        if (r.error) this._lastError = r.error;
      }
    } catch (err) {
      this._c.recovered++;
      this._lastError = `telemetry: internal error: ${describe(err)}`;
    } finally {
      if (this._sender) this._sender.close();
      if (this._closeResolve) this._resolveAfterRecord(this._closeResolve);
    }
  }

  // _resolveAfterRecord resolves close once the record of what was sent is
  // written, waiting RECENT_WAIT_MS at most: close's budget keeps that much
  // in reserve. An exiting process cannot wait; the record is best effort.
  _resolveAfterRecord(resolve) {
    const w = this._recentWrite;
    if (!w) return resolve();
    const t = setTimeout(resolve, RECENT_WAIT_MS);
    w.then(() => {
      clearTimeout(t);
      resolve();
    });
  }

  _beforeExit() {
    if (!this._closePromise) this.close();
  }

  // _exitSync runs in the process's exit event, which cannot wait: it encodes
  // what is queued and spools it, synchronously.
  _exitSync() {
    this._safe(() => {
      if (this._closed) return;
      this._open = false;
      this._closing = true;
      this._init();
      this._drainNow();
      this._finishClose();
    });
  }
}

function describe(err) {
  try {
    return err && typeof err.message === 'string' ? err.message : String(err);
  } catch {
    return 'unprintable error';
  }
}

// recent returns the last events the Abacus SDK sent for product on this
// machine, as the JSON text that was sent, oldest first. options.stateDir
// overrides where the files are, as in the client's options.
function recent(product, options) {
  try {
    const cfg = resolveOptions({ product, stateDir: options && options.stateDir });
    return readRecent(cfg.stateDir);
  } catch {
    return [];
  }
}

module.exports = { Telemetry, recent };

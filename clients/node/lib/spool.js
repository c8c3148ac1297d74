'use strict';
// The spool keeps the events a run could not deliver, as JSON lines, for the
// next run of either SDK:
//
//   <StateDir>/spool/<project key>/<unix nanoseconds>-<8 hex>.jsonl
//
// one compact JSON event per line, files of mode 0600 in directories of mode
// 0700. Each save writes a new file and no file is ever appended to, so two
// runs at once need no lock: at worst both send a file, and the collector
// keeps each event id once. The whole spool of a product stays under 2 MiB.

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { projectKey } = require('./config.js');
const { readRegular, writeFileAtomic, mkdirPrivate } = require('./fsafe.js');

const SPOOL_MAX_BYTES = 2 << 20; // the whole spool of a product
const MAX_EVENT_BYTES = 32 << 10; // one event, encoded
const LOAD_MAX_FILES = 256; // files read by one run
const LIST_MAX_ENTRIES = 4096; // directory entries looked at by one run

let lastNanos = 0n;

// spoolName is <unix nanoseconds>-<8 hex>.jsonl; the nanoseconds grow within a
// process even when the clock has only millisecond resolution.
function spoolName() {
  let ns = BigInt(Date.now()) * 1000000n;
  if (ns <= lastNanos) ns = lastNanos + 1n;
  lastNanos = ns;
  return `${ns}-${crypto.randomBytes(4).toString('hex')}.jsonl`;
}

function nameTime(name) {
  const m = /^([0-9]+)-/.exec(name);
  return m ? BigInt(m[1]) : 0n;
}

function older(a, b) {
  const ta = nameTime(a.name);
  const tb = nameTime(b.name);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

// listDir returns up to max .jsonl regular files of dir (not sorted), with
// their sizes, without following links.
function listDir(dir, max) {
  const files = [];
  let d;
  try {
    d = fs.opendirSync(dir);
  } catch {
    return files;
  }
  try {
    for (let n = 0; n < max; n++) {
      const e = d.readSync();
      if (!e) break;
      if (!e.isFile() || !e.name.endsWith('.jsonl')) continue;
      const p = path.join(dir, e.name);
      try {
        files.push({ path: p, name: e.name, size: fs.lstatSync(p).size });
      } catch {
        // gone meanwhile
      }
    }
  } finally {
    try { d.closeSync(); } catch { /* closed */ }
  }
  return files;
}

class Spool {
  constructor(root, projectDir) {
    this.root = root;
    this.dir = path.join(root, projectKey(projectDir));
    this.loaded = []; // files whose events are all among this run's
    this.ids = new Set(); // ids of loaded events not yet delivered
  }

  // load reads the oldest spool files of the project, at most 2 MiB and
  // LOAD_MAX_FILES files, oldest first. Files larger than the cap and files
  // without a single valid event are deleted; lines that do not decode are
  // skipped. It returns the events as { id, raw } and an error text, if any.
  load() {
    const events = [];
    const files = listDir(this.dir, LIST_MAX_ENTRIES).sort(older);
    let bytes = 0;
    let n = 0;
    for (const f of files) {
      if (n >= LOAD_MAX_FILES) break;
      if (f.size > SPOOL_MAX_BYTES) {
        try { fs.unlinkSync(f.path); } catch { /* gone */ }
        continue;
      }
      if (bytes + f.size > SPOOL_MAX_BYTES) break;
      let data;
      try {
        data = readRegular(f.path, SPOOL_MAX_BYTES, { nofollow: true }).data;
      } catch {
        continue;
      }
      n++;
      bytes += data.length;
      let found = 0;
      let start = 0;
      while (start < data.length) {
        let end = data.indexOf(0x0a, start);
        if (end < 0) end = data.length;
        if (end - start > 0 && end - start <= MAX_EVENT_BYTES) {
          const raw = data.toString('utf8', start, end).replace(/\r$/, '');
          try {
            const ev = JSON.parse(raw);
            if (ev && typeof ev === 'object' && typeof ev.id === 'string' && ev.id !== '' && !this.ids.has(ev.id)) {
              this.ids.add(ev.id);
              events.push({ id: ev.id, raw, own: false });
              found++;
            }
          } catch {
            // a broken line costs itself only
          }
        }
        start = end + 1;
      }
      this.loaded.push(f.path);
      if (found === 0) {
        try { fs.unlinkSync(f.path); } catch { /* gone */ }
        this.loaded.pop();
      }
    }
    return events;
  }

  // acked notes that events were delivered (or refused for good); once every
  // loaded event is, the loaded files go.
  acked(events) {
    if (this.ids.size === 0) return;
    for (const ev of events) if (!ev.own) this.ids.delete(ev.id);
    if (this.ids.size === 0) this.removeLoaded();
  }

  removeLoaded() {
    for (const f of this.loaded) {
      try { fs.unlinkSync(f); } catch { /* gone */ }
    }
    this.loaded = [];
  }

  // save writes events (oldest first) to a new spool file, replacing the files
  // it loaded. To stay under the cap it first deletes the oldest files of other
  // runs, then drops the oldest events. It returns { written, dropped } as
  // counts of own events (events tracked by this run), and an error text.
  save(events) {
    const loaded = new Set(this.loaded);
    let lines = events.map((ev) => ({ ev, line: ev.raw + '\n', size: Buffer.byteLength(ev.raw) + 1 }));
    let size = 0;
    for (const l of lines) size += l.size;
    let droppedOwn = 0;
    let cut = 0;
    while (size > SPOOL_MAX_BYTES && cut < lines.length) {
      size -= lines[cut].size;
      if (lines[cut].ev.own) droppedOwn++;
      cut++;
    }
    lines = lines.slice(cut);
    let others = [];
    let keys = [];
    try {
      keys = fs.readdirSync(this.root, { withFileTypes: true }).filter((e) => e.isDirectory()).slice(0, 64);
    } catch {
      keys = [];
    }
    for (const k of keys) others = others.concat(listDir(path.join(this.root, k.name), LIST_MAX_ENTRIES));
    others = others.filter((f) => !loaded.has(f.path)).sort(older);
    let othersSize = 0;
    for (const f of others) othersSize += f.size;
    for (const f of others) {
      if (size + othersSize <= SPOOL_MAX_BYTES) break;
      try {
        fs.unlinkSync(f.path);
        othersSize -= f.size;
      } catch {
        // gone
      }
    }
    let error = '';
    let written = 0;
    if (lines.length > 0) {
      const file = path.join(this.dir, spoolName());
      try {
        mkdirPrivate(this.dir);
        writeFileAtomic(file, Buffer.from(lines.map((l) => l.line).join('')), 0o600);
        for (const l of lines) if (l.ev.own) written++;
      } catch (err) {
        for (const l of lines) if (l.ev.own) droppedOwn++;
        error = `cannot write spool ${JSON.stringify(file)}: ${err.message}`;
      }
    }
    if (!error) this.removeLoaded();
    return { written, dropped: droppedOwn, error };
  }
}

// discard deletes spooled events in the background, never on the caller's
// path: all of the product's on a user-level opt-out, else the project's. It
// deletes at most max files, for at most ms milliseconds, a run, so that a
// huge spool costs each run little and never holds the host's exit long.
function discard(dir, max = 2000, ms = 50) {
  let removed = 0;
  const until = Date.now() + ms;
  const walk = async (d, depth) => {
    let h;
    try {
      h = await fs.promises.opendir(d);
    } catch {
      return;
    }
    try {
      for await (const e of h) {
        if (removed >= max || Date.now() > until) break;
        const p = path.join(d, e.name);
        if (e.isDirectory() && depth === 0) {
          await walk(p, 1);
          try { await fs.promises.rmdir(p); } catch { /* not empty yet */ }
        } else if (!e.isDirectory()) {
          try {
            await fs.promises.unlink(p);
            removed++;
          } catch {
            // gone
          }
        }
      }
    } catch {
      // closed or unreadable
    }
  };
  return walk(dir, 0).then(() => removed, () => removed);
}

module.exports = { Spool, discard, spoolName, SPOOL_MAX_BYTES, MAX_EVENT_BYTES };

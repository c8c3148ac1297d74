'use strict';
// The spool keeps the events a run could not deliver, as JSON lines, for the
// next run of either SDK:
//
//   <StateDir>/spool/<project key>/<unix nanoseconds>-<8 hex>.jsonl
//
// one compact JSON event per line, files of mode 0600 in directories of mode
// 0700. Each save writes a new file and no file is ever appended to, so two
// runs at once need no lock: at worst both send a file, and the collector
// keeps each event id once. A file read by a run is deleted once all its
// events are delivered, and left as it is otherwise: the next run sends what
// is left, and the collector drops the repeats. The whole spool of a product
// stays under 2 MiB.

const fs = require('node:fs');
const path = require('node:path');
const { projectKey } = require('./config.js');
const { nodeCrypto } = require('./ids.js');
const { readRegular, writeFileAtomic, mkdirPrivate } = require('./fsafe.js');

const SPOOL_MAX_BYTES = 2 << 20; // the whole spool of a product
const MAX_EVENT_BYTES = 32 << 10; // one event, encoded
const LOAD_MAX_FILES = 256; // files read by one run
const LIST_MAX_ENTRIES = 1024; // directory entries one run looks at to load
const CAP_MAX_ENTRIES = 1024; // entries of each project's directory sized to keep the cap

let lastNanos = 0n;

// spoolName is <unix nanoseconds>-<8 hex>.jsonl; the nanoseconds grow within a
// process even when the clock has only millisecond resolution.
function spoolName() {
  let ns = BigInt(Date.now()) * 1000000n;
  if (ns <= lastNanos) ns = lastNanos + 1n;
  lastNanos = ns;
  return `${ns}-${nodeCrypto().randomBytes(4).toString('hex')}.jsonl`;
}

// sortKey orders spool file names by their leading time, then by name: the
// digits are padded so that comparing keys as strings compares the numbers.
function sortKey(name) {
  const m = /^([0-9]{1,20})-/.exec(name);
  return (m ? m[1].padStart(20, '0') : '0'.repeat(20)) + name;
}

function older(a, b) {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

// listDir returns up to max .jsonl regular files of dir (not sorted), without
// following links; with sized, their sizes too (one lstat each).
function listDir(dir, max, sized) {
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
      const p = dir + path.sep + e.name;
      try {
        files.push({ path: p, name: e.name, key: sortKey(e.name), size: sized ? fs.lstatSync(p).size : 0 });
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
    this.files = new Map(); // id of a loaded event not yet delivered → its file
    this.ids = new Set(); // ids of every loaded event
  }

  // load reads the oldest spool files of the project, at most 2 MiB and
  // LOAD_MAX_FILES files, oldest first. Files larger than the cap and files
  // without a single valid event are deleted; lines that do not decode are
  // skipped. It returns the events as { id, raw } and an error text, if any.
  load() {
    const events = [];
    const files = listDir(this.dir, LIST_MAX_ENTRIES, false).sort(older);
    let bytes = 0;
    let n = 0;
    for (const f of files) {
      if (n >= LOAD_MAX_FILES || bytes >= SPOOL_MAX_BYTES) break;
      let data;
      try {
        // At most what is left of the cap; a file over the whole cap is deleted unread.
        data = readRegular(f.path, SPOOL_MAX_BYTES, { nofollow: true }).data;
      } catch (err) {
        if (err && err.code === 'EFBIG') {
          try { fs.unlinkSync(f.path); } catch { /* gone */ }
        }
        continue;
      }
      if (bytes + data.length > SPOOL_MAX_BYTES) break;
      n++;
      bytes += data.length;
      const file = { path: f.path, left: 0 };
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
              this.files.set(ev.id, file);
              events.push({ id: ev.id, raw, own: false });
              file.left++;
            }
          } catch {
            // a broken line costs itself only
          }
        }
        start = end + 1;
      }
      if (file.left === 0) {
        try { fs.unlinkSync(f.path); } catch { /* gone */ }
      }
    }
    return events;
  }

  // acked notes that events were delivered (or refused for good); a file
  // whose events all are goes, in the background.
  acked(events) {
    for (const ev of events) {
      const file = ev.own ? undefined : this.files.get(ev.id);
      if (!file) continue;
      this.files.delete(ev.id);
      if (--file.left === 0) fs.unlink(file.path, () => {});
    }
  }

  // save writes this run's unsent events (oldest first) to a new spool file.
  // To stay under the cap it first deletes the oldest spool files, then drops
  // the oldest events. It returns { written, dropped } and an error text.
  save(events) {
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
    this.trim(size);
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
      // Other processes may have written meanwhile: the last writer to look
      // sees every file written before it, and keeps the cap.
      this.trim(0);
    }
    return { written, dropped: droppedOwn, error };
  }

  // trim deletes the oldest spool files of the product until they and extra
  // more bytes fit the cap.
  trim(extra) {
    let keys = [];
    try {
      keys = fs.readdirSync(this.root, { withFileTypes: true }).filter((e) => e.isDirectory()).slice(0, 64);
    } catch {
      keys = [];
    }
    let files = [];
    for (const k of keys) files = files.concat(listDir(path.join(this.root, k.name), CAP_MAX_ENTRIES, true));
    files.sort(older);
    let size = extra;
    for (const f of files) size += f.size;
    for (const f of files) {
      if (size <= SPOOL_MAX_BYTES) break;
      try {
        fs.unlinkSync(f.path);
        size -= f.size;
      } catch {
        // gone
      }
    }
  }
}

const DISCARD_PREFIX = 'spool.discard-'; // a spool directory set aside for deletion
const discarding = new Set(); // state directories this process is cleaning

// setAside renames dir (the product's spool, or a project's) to
// <stateDir>/spool.discard-<8 hex>, where no run reads it, and starts
// deleting what was set aside, by either SDK, in the background. An empty
// dir renames nothing.
function setAside(stateDir, dir) {
  if (dir) {
    try {
      fs.renameSync(dir, path.join(stateDir, DISCARD_PREFIX + nodeCrypto().randomBytes(4).toString('hex')));
    } catch (err) {
      if (err.code !== 'ENOENT') setImmediate(() => discard(dir));
    }
  }
  let names = [];
  try {
    names = fs.readdirSync(stateDir).filter((n) => n.startsWith(DISCARD_PREFIX));
  } catch {
    return;
  }
  if (names.length > 0 && !discarding.has(stateDir)) {
    discarding.add(stateDir);
    setImmediate(() => discardLeftovers(stateDir, names).finally(() => discarding.delete(stateDir)));
  }
}

// discardLeftovers deletes the spool directories set aside, at most 2000
// files a run.
async function discardLeftovers(stateDir, names) {
  let budget = 2000;
  for (const n of names) {
    if (budget <= 0) return;
    const d = path.join(stateDir, n);
    budget -= await discard(d, budget);
    try { await fs.promises.rmdir(d); } catch { /* not empty yet */ }
  }
}

// discard deletes spooled events in the background, never on the caller's
// path. It deletes at most max files a run, and past the first hundred stops
// after ms milliseconds, so that a huge spool costs each run little and never
// holds the host's exit long.
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
        if (removed >= max || (removed >= 100 && Date.now() > until)) break;
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

module.exports = { Spool, setAside, discardLeftovers, discard, spoolName, SPOOL_MAX_BYTES, MAX_EVENT_BYTES };

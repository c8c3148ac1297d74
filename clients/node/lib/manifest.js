'use strict';
// The manifest is the project's package.json; the project ID lives in it at
// <product>.uuid. Deleting the uuid opts the project out, so the SDK writes it
// only in createProject and never puts it back.
//
// Reading follows JSON.parse: keys are compared after unescaping, and when a key
// appears twice in an object the last one wins. createProject edits that same
// last member, and leaves every other byte of the file as it was.

const fs = require('node:fs');
const path = require('node:path');
const { isProjectID, randomUUID, nodeCrypto } = require('./ids.js');
const { readRegular } = require('./fsafe.js');

const MANIFEST = 'package.json';
const MAX_MANIFEST = 16 << 20;
const LOCK_WAIT = 2000; // ms a createProject waits for another one's lock
const LOCK_STALE = 10000; // ms after which a lock or temp file of ours is stale

const OK = 'ok';
const MISSING = 'missing';
const NO_UUID = 'no uuid';
const INVALID = 'invalid';

class ManifestError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind; // invalid, not-object, product-not-object, bad-uuid
  }
}

const BOM = [0xef, 0xbb, 0xbf];

function isSpace(c) {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function skipSpace(b, i) {
  while (i < b.length && isSpace(b[i])) i++;
  return i;
}

function skipString(b, i) {
  for (i++; i < b.length; i++) {
    if (b[i] === 0x5c) i++;
    else if (b[i] === 0x22) return i + 1;
  }
  return b.length;
}

function skipValue(b, i) {
  const c = b[i];
  if (c === 0x22) return skipString(b, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    while (i < b.length) {
      const d = b[i];
      if (d === 0x22) {
        i = skipString(b, i);
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return b.length;
  }
  while (i < b.length && !isSpace(b[i]) && b[i] !== 0x2c && b[i] !== 0x7d && b[i] !== 0x5d) i++;
  return i;
}

function kindOf(c) {
  switch (c) {
    case 0x7b: return 'an object';
    case 0x5b: return 'an array';
    case 0x22: return 'a string';
    case 0x74: case 0x66: return 'a boolean';
    case 0x6e: return 'null';
  }
  return 'a number';
}

function unquote(b, start, end) {
  return JSON.parse(b.toString('utf8', start, end));
}

// quote encodes s as a JSON string as Go's encoder does without HTML escaping.
function quote(s) {
  return JSON.stringify(s).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const scanError = () => new ManifestError('invalid', 'internal error: unexpected JSON structure');

class Doc {
  constructor(data) {
    this.data = data;
    this.start = data.length >= 3 && data[0] === BOM[0] && data[1] === BOM[1] && data[2] === BOM[2] ? 3 : 0;
  }

  // object finds the members of the object whose '{' is at offset i.
  object(i) {
    const b = this.data;
    const obj = { open: i, close: -1, members: [] };
    i++;
    for (;;) {
      const gap = i;
      i = skipSpace(b, i);
      if (i >= b.length) throw scanError();
      if (b[i] === 0x7d && obj.members.length === 0) {
        obj.close = i;
        return obj;
      }
      if (b[i] !== 0x22) throw scanError();
      const m = { key: '', gapStart: gap, keyStart: i, keyEnd: 0, valStart: 0, valEnd: 0 };
      i = skipString(b, i);
      m.keyEnd = i;
      i = skipSpace(b, i);
      if (i >= b.length || b[i] !== 0x3a) throw scanError();
      i = skipSpace(b, i + 1);
      if (i >= b.length) throw scanError();
      m.valStart = i;
      i = skipValue(b, i);
      m.valEnd = i;
      m.key = unquote(b, m.keyStart, m.keyEnd);
      obj.members.push(m);
      i = skipSpace(b, i);
      if (i >= b.length) throw scanError();
      if (b[i] === 0x2c) i++;
      else if (b[i] === 0x7d) {
        obj.close = i;
        return obj;
      } else throw scanError();
    }
  }

  lineIndent(i) {
    const d = this.data;
    let start = i;
    while (start > this.start && d[start - 1] !== 0x0a) start--;
    let end = start;
    while (end < i && (d[end] === 0x20 || d[end] === 0x09)) end++;
    return d.toString('latin1', start, end);
  }
}

function lookup(obj, key) {
  for (let i = obj.members.length - 1; i >= 0; i--) if (obj.members[i].key === key) return obj.members[i];
  return null;
}

// parse checks that data is a JSON object (after an optional UTF-8 BOM) and
// finds its members.
function parse(data) {
  const doc = new Doc(data);
  const text = data.toString('utf8', doc.start);
  try {
    JSON.parse(text);
  } catch (err) {
    throw new ManifestError('invalid', `${MANIFEST} is not valid JSON: ${err.message}`);
  }
  const i = skipSpace(data, doc.start);
  if (data[i] !== 0x7b) throw new ManifestError('not-object', `${MANIFEST} is ${kindOf(data[i])}, expected an object`);
  doc.root = doc.object(i);
  return doc;
}

function countOf(b, pat) {
  let n = 0;
  for (let i = b.indexOf(pat); i >= 0; i = b.indexOf(pat, i + pat.length)) n++;
  return n;
}

function hasNewline(b, start, end) {
  const i = b.indexOf(0x0a, start);
  return i >= 0 && i < end;
}

class Editor {
  constructor(doc) {
    this.doc = doc;
    const data = doc.data;
    this.eol = '\n';
    const crlf = countOf(data, '\r\n');
    if (crlf > 0 && 2 * crlf >= countOf(data, '\n')) this.eol = '\r\n';
    this.unit = '  ';
    const root = doc.root;
    for (let i = root.members.length - 1; i >= 0; i--) {
      const m = root.members[i];
      if (!hasNewline(data, m.gapStart, m.keyStart)) continue;
      const member = doc.lineIndent(m.keyStart);
      const brace = doc.lineIndent(root.open);
      if (member.startsWith(brace) && member.length > brace.length) this.unit = member.slice(brace.length);
      else if (member !== '') this.unit = member;
      break;
    }
  }

  sep(...objs) {
    const d = this.doc.data;
    for (const obj of objs) {
      for (let i = obj.members.length - 1; i >= 0; i--) {
        const m = obj.members[i];
        let multi = false;
        for (let j = m.keyEnd; j < m.valStart; j++) if (d[j] === 0x0a || d[j] === 0x0d) multi = true;
        if (!multi) return d.toString('latin1', m.keyEnd, m.valStart);
      }
    }
    return ': ';
  }

  insert(obj, ownerIndent, expandEmpty, member) {
    const d = this.doc.data;
    const n = obj.members.length;
    if (n > 0) {
      const last = obj.members[n - 1];
      if (hasNewline(d, last.gapStart, last.keyStart)) {
        const indent = this.doc.lineIndent(last.keyStart);
        return [last.valEnd, ',' + this.eol + indent + member(indent, true)];
      }
      let space = d.toString('latin1', last.gapStart, last.keyStart);
      if (n === 1 && space === '' && this.sep(obj).endsWith(' ')) space = ' ';
      return [last.valEnd, ',' + space + member('', false)];
    }
    const inner = d.toString('latin1', obj.open + 1, obj.close);
    const indent = ownerIndent + this.unit;
    if (inner.includes('\n')) return [obj.open + 1, this.eol + indent + member(indent, true)];
    if (expandEmpty) return [obj.open + 1, this.eol + indent + member(indent, true) + this.eol + ownerIndent];
    return [obj.open + 1, inner + member('', false)];
  }
}

function splice(data, i, j, text) {
  return Buffer.concat([data.subarray(0, i), Buffer.from(text, 'utf8'), data.subarray(j)]);
}

function newID(gen) {
  const id = gen();
  if (!isProjectID(id)) throw new ManifestError('invalid', `generated project ID ${quote(String(id))} is not valid`);
  return id;
}

function notID(product, s) {
  if (s.length > 64) s = s.slice(0, 64) + '…';
  return new ManifestError('bad-uuid', `${MANIFEST}: ${quote(product + '.uuid')} is ${quote(s)}, expected a project ID (a UUID, optionally after a prefix)`);
}

function checkProduct(product) {
  if (typeof product !== 'string' || product === '') throw new ManifestError('invalid', 'empty product name');
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(product)) {
    throw new ManifestError('invalid', `product name ${quote(product)} is not valid UTF-8`);
  }
}

// addProjectID is the edit behind createProject: it returns the manifest with a
// new project ID from gen, or out null and the ID already there.
function addProjectID(data, product, gen) {
  const doc = parse(data);
  const ed = new Editor(doc);
  const pm = lookup(doc.root, product);
  if (!pm) {
    const id = newID(gen);
    const member = (indent, multiline) => {
      const sep = ed.sep(doc.root);
      const key = quote(product);
      const uuid = '"uuid"' + sep + quote(id);
      if (multiline) return key + sep + '{' + ed.eol + indent + ed.unit + uuid + ed.eol + indent + '}';
      return key + sep + '{' + uuid + '}';
    };
    const [at, text] = ed.insert(doc.root, doc.lineIndent(doc.root.open), true, member);
    return { out: splice(data, at, at, text), id };
  }
  if (data[pm.valStart] !== 0x7b) {
    throw new ManifestError('product-not-object', `${MANIFEST}: ${quote(product)} is ${kindOf(data[pm.valStart])}, expected an object`);
  }
  const obj = doc.object(pm.valStart);
  const um = lookup(obj, 'uuid');
  if (!um) {
    const id = newID(gen);
    const member = () => '"uuid"' + ed.sep(obj, doc.root) + quote(id);
    const ownLine = hasNewline(data, pm.gapStart, pm.keyStart);
    const [at, text] = ed.insert(obj, doc.lineIndent(pm.keyStart), ownLine, member);
    return { out: splice(data, at, at, text), id };
  }
  if (data[um.valStart] !== 0x22) {
    throw new ManifestError('bad-uuid', `${MANIFEST}: ${quote(product + '.uuid')} is ${kindOf(data[um.valStart])}, expected a string`);
  }
  const s = unquote(data, um.valStart, um.valEnd);
  if (s !== '') {
    if (!isProjectID(s)) throw notID(product, s);
    return { out: null, id: s };
  }
  const id = newID(gen);
  return { out: splice(data, um.valStart, um.valEnd, quote(id)), id };
}

// readManifest reads the file at file (a regular file, or a symlink to one)
// without ever blocking on a FIFO or device.
function readManifest(file) {
  return readRegular(file, MAX_MANIFEST);
}

// readProjectID returns { id, state, error } for the consent rules.
function readProjectID(dir, product) {
  const file = path.join(dir, MANIFEST);
  const fail = (err) => ({ id: '', state: INVALID, error: `cannot read project ID from ${quote(file)}: ${err.message}` });
  let data;
  try {
    checkProduct(product);
    data = readManifest(file).data;
  } catch (err) {
    if (err && err.code === 'ENOENT') return { id: '', state: MISSING, error: '' };
    return fail(err);
  }
  try {
    const doc = parse(data);
    const pm = lookup(doc.root, product);
    if (!pm || data[pm.valStart] !== 0x7b) return { id: '', state: NO_UUID, error: '' };
    const obj = doc.object(pm.valStart);
    const um = lookup(obj, 'uuid');
    if (!um || data[um.valStart] !== 0x22) return { id: '', state: NO_UUID, error: '' };
    const s = unquote(data, um.valStart, um.valEnd);
    if (s === '') return { id: '', state: NO_UUID, error: '' };
    if (!isProjectID(s)) return fail(notID(product, s));
    return { id: s, state: OK, error: '' };
  } catch (err) {
    return fail(err);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// lock takes the lock file beside the manifest, so that concurrent
// createProject calls (from any process) edit it one at a time. It returns
// whether it got the lock: after LOCK_WAIT the call goes on without it, and
// returns what the file holds after its own write.
async function lock(lockFile) {
  const deadline = Date.now() + LOCK_WAIT;
  for (;;) {
    try {
      const fd = fs.openSync(lockFile, 'wx', 0o600);
      fs.closeSync(fd);
      return true;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    try {
      const st = fs.lstatSync(lockFile);
      if (Date.now() - st.mtimeMs > LOCK_STALE) {
        fs.unlinkSync(lockFile);
        continue;
      }
    } catch {
      continue; // released meanwhile
    }
    if (Date.now() > deadline) return false;
    await sleep(5 + Math.random() * 10);
  }
}

// removeStaleTemps removes temporary files left by a process (of either SDK)
// killed while it wrote the manifest: .package.json.<digits>.tmp.
function removeStaleTemps(dir, base) {
  let names;
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const prefix = '.' + base + '.';
  for (const name of names) {
    if (!name.startsWith(prefix) || !/^[0-9]+$/.test(name.slice(prefix.length, -4)) || !name.endsWith('.tmp')) continue;
    const p = path.join(dir, name);
    try {
      const st = fs.lstatSync(p);
      if (st.isFile() && Date.now() - st.mtimeMs > LOCK_STALE) fs.unlinkSync(p);
    } catch {
      // gone already
    }
  }
}

// replaceManifest replaces the file at file with data atomically, keeping its
// owner, group and mode.
function replaceManifest(file, data, st) {
  const dir = path.dirname(file);
  const tmp = path.join(dir, '.' + path.basename(file) + '.' + nodeCrypto().randomBytes(4).readUInt32BE(0) + '.tmp');
  let fd = -1;
  try {
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
    if (process.platform !== 'win32') {
      const tst = fs.fstatSync(fd);
      if (tst.uid !== st.uid || tst.gid !== st.gid) {
        try {
          fs.fchownSync(fd, st.uid, st.gid);
        } catch (err) {
          throw new Error(`cannot keep the owner ${st.uid}:${st.gid} of ${MANIFEST}: ${err.message}`);
        }
      }
    }
    fs.fchmodSync(fd, st.mode & 0o7777);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = -1;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd >= 0) try { fs.closeSync(fd); } catch { /* failing already */ }
    try { fs.unlinkSync(tmp); } catch { /* not there */ }
    throw err;
  }
  try {
    const dfd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
  } catch {
    // not every platform can sync a directory
  }
}

// createProject gives the project in dir a project ID at <product>.uuid in its
// package.json and returns it; an ID already there is returned unchanged.
async function createProject(dir, product) {
  return createProjectWith(dir, product, randomUUID);
}

// createProjectWith is createProject with the generator of new IDs.
async function createProjectWith(dir, product, gen) {
  let file = '<unknown>';
  try {
    if (typeof dir !== 'string' || dir === '') throw new Error('expected the project directory as a non-empty string');
    file = path.join(dir, MANIFEST);
    checkProduct(product);
    let target = file;
    try {
      target = fs.realpathSync.native(file);
    } catch {
      // missing: readManifest says so
    }
    const first = readManifest(target);
    const found = addProjectID(first.data, product, () => '00000000-0000-4000-8000-000000000000');
    if (found.out === null) return found.id;
    const lockFile = path.join(path.dirname(target), '.' + path.basename(target) + '.lock');
    const locked = await lock(lockFile);
    try {
      removeStaleTemps(path.dirname(target), path.basename(target));
      const { data, stat } = readManifest(target);
      const { out, id } = addProjectID(data, product, gen);
      if (out === null) return id;
      if ((stat.mode & 0o200) === 0) {
        throw new Error(`${MANIFEST} is read-only for its owner (mode 0${(stat.mode & 0o777).toString(8)}), expected a file its owner may write`);
      }
      try {
        fs.accessSync(target, fs.constants.W_OK);
      } catch {
        throw new Error(`${MANIFEST} is not writable by the current user, expected a file this user may write`);
      }
      if (stat.nlink > 1) {
        throw new Error(`${MANIFEST} has ${stat.nlink} hard links, expected 1 (replacing it would split the link)`);
      }
      replaceManifest(target, out, stat);
      // Return what the file holds now: another writer without the lock may
      // have renamed its own version over ours.
      try {
        const now = addProjectID(readManifest(target).data, product, () => '');
        if (now.out === null) return now.id;
      } catch {
        // the file is ours as written
      }
      return id;
    } finally {
      if (locked) try { fs.unlinkSync(lockFile); } catch { /* gone */ }
    }
  } catch (err) {
    const e = new Error(`cannot create project ID in ${quote(file)}: ${err && err.message}`);
    if (err && err.kind) e.kind = err.kind;
    if (err && err.code) e.code = err.code;
    throw e;
  }
}

module.exports = { createProject, createProjectWith, readProjectID, addProjectID, ManifestError, OK, MISSING, NO_UUID, INVALID };

'use strict';
// Reading and writing the SDK's files without ever blocking the host: a FIFO,
// socket or device planted where a file is expected is refused, never opened
// in a way that can wait. Every read is bounded.

const fs = require('node:fs');
const path = require('node:path');
const { nodeCrypto } = require('./ids.js');

const O_NONBLOCK = fs.constants.O_NONBLOCK || 0;
const O_NOFOLLOW = fs.constants.O_NOFOLLOW || 0;

function fileError(message, code) {
  return Object.assign(new Error(message), { code });
}

// readRegular reads a regular file (or a symlink to one) of at most max bytes.
// It opens with O_NONBLOCK and checks the type on the open descriptor, so a
// FIFO, socket or device is refused at once. Errors carry a code: ENOENT,
// ENOTREG (not a regular file), EFBIG (too large) or the system's.
function readRegular(file, max, opts) {
  const nofollow = opts && opts.nofollow ? O_NOFOLLOW : 0;
  const fd = fs.openSync(file, fs.constants.O_RDONLY | O_NONBLOCK | nofollow);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw fileError(`${file} is not a regular file`, 'ENOTREG');
    if (st.size > max) throw fileError(`${file} is larger than ${max} bytes`, 'EFBIG');
    // Files of /proc report a size of 0: read until the end, max + 1 at most.
    let buf = Buffer.allocUnsafe(Math.min(st.size || 4096, max) + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n > max) break;
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, max + 1));
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
      const r = fs.readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    if (n > max) throw fileError(`${file} is larger than ${max} bytes`, 'EFBIG');
    return { data: buf.subarray(0, n), stat: st };
  } finally {
    fs.closeSync(fd);
  }
}

// readSmall is readRegular for small system and state files (64 KiB); it
// returns null on any error.
function readSmall(file) {
  try {
    return readRegular(file, 64 << 10).data;
  } catch {
    return null;
  }
}

// writeFileAtomic writes data through a temporary file in the same directory
// and a rename, so a reader never sees a partial file.
function writeFileAtomic(file, data, mode) {
  const tmp = path.join(path.dirname(file), '.' + path.basename(file) + '.tmp-' + nodeCrypto().randomBytes(4).toString('hex'));
  let fd = -1;
  try {
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | O_NOFOLLOW, mode);
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
    try { fs.fchmodSync(fd, mode); } catch { /* Windows */ }
    fs.closeSync(fd);
    fd = -1;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd >= 0) try { fs.closeSync(fd); } catch { /* already failing */ }
    try { fs.unlinkSync(tmp); } catch { /* not created */ }
    throw err;
  }
}

// mkdirPrivate creates dir and its parents, the new ones with mode 0700.
function mkdirPrivate(dir) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
}

module.exports = { readRegular, readSmall, writeFileAtomic, mkdirPrivate, O_NONBLOCK, O_NOFOLLOW };

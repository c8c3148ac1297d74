'use strict';
// The local record of what was sent: <StateDir>/recent.jsonl, mode 0600, the
// events the collector acknowledged with a 2xx, one per line, byte for byte as
// they were in the batch, the newest last; at most the last 100 events or
// 256 KiB, whichever is smaller. A user reads it through the product's
// "telemetry show" command.

const fs = require('node:fs');
const path = require('node:path');
const { readRegular, O_NONBLOCK, O_NOFOLLOW } = require('./fsafe.js');

const RECENT_MAX_EVENTS = 100;
const RECENT_MAX_BYTES = 256 << 10;
const FILE = 'recent.jsonl';

function readLines(stateDir) {
  let data;
  try {
    data = readRegular(path.join(stateDir, FILE), 4 * RECENT_MAX_BYTES, { nofollow: true }).data;
  } catch {
    return [];
  }
  return data.toString('utf8').split('\n').filter((l) => l !== '');
}

// keep returns the newest lines that fit both limits.
function keep(lines) {
  const out = [];
  let bytes = 0;
  for (let i = lines.length - 1; i >= 0 && out.length < RECENT_MAX_EVENTS; i--) {
    const n = Buffer.byteLength(lines[i]) + 1;
    if (bytes + n > RECENT_MAX_BYTES) break;
    bytes += n;
    out.push(lines[i]);
  }
  return out.reverse();
}

// appendRecent adds the acknowledged events off the host's thread: the file
// is read and rewritten with asynchronous I/O (the thread pool), so a
// delivered batch never stalls the host's event loop. Writes to one file are
// chained, one after the other. The promise resolves to an error text or ''.
const chains = new Map();

function appendRecent(stateDir, raws) {
  const file = path.join(stateDir, FILE);
  const next = (chains.get(file) || Promise.resolve()).then(() => rewrite(stateDir, file, raws)).then(
    () => '',
    (err) => `cannot write ${JSON.stringify(file)}: ${err && err.message}`,
  );
  chains.set(file, next);
  return next;
}

async function rewrite(stateDir, file, raws) {
  const fsp = fs.promises;
  let old = [];
  // Non-blocking and not through a link: a FIFO or device planted here is
  // refused, never waited on; it is replaced by the new file.
  const h = await fsp.open(file, fs.constants.O_RDONLY | O_NONBLOCK | O_NOFOLLOW).catch(() => null);
  if (h) {
    const st = await h.stat();
    if (st.isFile() && st.size <= 4 * RECENT_MAX_BYTES) old = (await h.readFile('utf8')).split('\n').filter(Boolean);
    await h.close();
  }
  await fsp.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}-${seq++}`;
  try {
    await fsp.writeFile(tmp, keep(old.concat(raws)).map((l) => l + '\n').join(''), { mode: 0o600, flag: 'wx' });
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.unlink(tmp).catch(() => {});
    throw err;
  }
}

let seq = 0;

// read returns the recorded events, oldest first, as the JSON text that was
// sent.
function readRecent(stateDir) {
  return keep(readLines(stateDir));
}

module.exports = { appendRecent, readRecent, RECENT_MAX_EVENTS, RECENT_MAX_BYTES };

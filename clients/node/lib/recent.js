'use strict';
// The local record of what was sent: <StateDir>/recent.jsonl, mode 0600, the
// events the collector acknowledged with a 2xx, one per line, byte for byte as
// they were in the batch, the newest last; at most the last 100 events or
// 256 KiB, whichever is smaller. A user reads it through the product's
// "telemetry show" command.

const path = require('node:path');
const { readRegular, writeFileAtomic, mkdirPrivate } = require('./fsafe.js');

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

// append adds the acknowledged events; it returns an error text or ''.
function appendRecent(stateDir, raws) {
  if (raws.length === 0) return '';
  const file = path.join(stateDir, FILE);
  try {
    const lines = keep(readLines(stateDir).concat(raws));
    mkdirPrivate(stateDir);
    writeFileAtomic(file, Buffer.from(lines.map((l) => l + '\n').join('')), 0o600);
    return '';
  } catch (err) {
    return `cannot write ${JSON.stringify(file)}: ${err.message}`;
  }
}

// read returns the recorded events, oldest first, as the JSON text that was
// sent.
function readRecent(stateDir) {
  return keep(readLines(stateDir));
}

module.exports = { appendRecent, readRecent, RECENT_MAX_EVENTS, RECENT_MAX_BYTES };

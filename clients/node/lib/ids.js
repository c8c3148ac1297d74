'use strict';
// Identifiers: the project ID check of the wire protocol, and the UUIDs the
// SDK makes.

// nodeCrypto returns node:crypto, loaded when first needed: loading it takes
// milliseconds that requiring this package should not cost its host.
let cryptoModule = null;
function nodeCrypto() {
  return cryptoModule || (cryptoModule = require('node:crypto'));
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const PREFIX_RE = /^[a-z0-9-]{1,32}$/;

function isUUID(s) {
  return typeof s === 'string' && s.length === 36 && UUID_RE.test(s);
}

// isProjectID reports whether s is a UUID, optionally after a prefix of 1 to 32
// characters from [a-z0-9-] and a dash.
function isProjectID(s) {
  if (typeof s !== 'string') return false;
  if (isUUID(s)) return true;
  if (s.length < 38 || s[s.length - 37] !== '-') return false;
  return PREFIX_RE.test(s.slice(0, s.length - 37)) && isUUID(s.slice(s.length - 36));
}

function formatUUID(b) {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// randomUUID returns a random (version 4) UUID in lowercase.
function randomUUID() {
  const b = nodeCrypto().randomBytes(16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return formatUUID(b);
}

// Random bytes come from a pool, so that an event ID costs no system call.
let pool = Buffer.alloc(0);
let poolAt = 0;

// eventID returns a version-7 UUID for an event tracked at ms: time-ordered,
// random in its last 74 bits.
function eventID(ms) {
  if (poolAt + 10 > pool.length) {
    pool = nodeCrypto().randomBytes(4096);
    poolAt = 0;
  }
  const b = Buffer.allocUnsafe(16);
  pool.copy(b, 6, poolAt, poolAt + 10);
  poolAt += 10;
  const hi = Math.floor(ms / 2 ** 32);
  b.writeUInt16BE(hi & 0xffff, 0);
  b.writeUInt32BE(ms >>> 0, 2);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  return formatUUID(b);
}

module.exports = { isUUID, isProjectID, randomUUID, eventID, nodeCrypto };

'use strict';
// A port of the Go SDK's package redact: whether a string value looks personal
// or secret. It works on the UTF-8 bytes of the value, as the Go code does, so
// that both SDKs flag exactly the same values; the shared conformance vectors
// check it. See telemetry/redact/doc.go for what each rule flags and why.


const PLACEHOLDER = '[redacted]';
const EMAIL = 'email';
const IP_ADDRESS = 'ip-address';
const CREDENTIAL_URL = 'url-credentials';
const HOME_PATH = 'home-path';
const SECRET = 'secret';
const PATH = 'path';

// Byte classes. A byte may be in several.
const cLower = 1 << 0;
const cUpper = 1 << 1;
const cDigit = 1 << 2;
const cHex = 1 << 3;
const cTok = 1 << 4;
const cB64URL = 1 << 5;
const cLocal = 1 << 6;
const cDomain = 1 << 7;
const cName = 1 << 8;
const cSpace = 1 << 9;
const cV6 = 1 << 10;
const cPrefix = 1 << 11;
const cUnderscore = 1 << 12;
const cDash = 1 << 13;
const cDot = 1 << 14;
const cAlnum = cLower | cUpper | cDigit;
const cLetter = cLower | cUpper;

const cls = new Uint16Array(256);
(() => {
  const set = (chars, bits) => {
    for (let i = 0; i < chars.length; i++) cls[chars.charCodeAt(i)] |= bits;
  };
  for (let c = 97; c <= 122; c++) cls[c] |= cLower;
  for (let c = 65; c <= 90; c++) cls[c] |= cUpper;
  for (let c = 48; c <= 57; c++) cls[c] |= cDigit | cHex | cV6;
  set('abcdefABCDEF', cHex | cV6);
  set(':.', cV6);
  for (let c = 0; c < 256; c++) {
    if (cls[c] & cAlnum) cls[c] |= cTok | cB64URL | cLocal | cDomain | cName;
    if (c >= 0x80) cls[c] |= cLocal | cDomain | cName;
  }
  set('+/=_-', cTok);
  set('_-', cB64URL);
  set('._%+-', cLocal);
  set('.-', cDomain);
  set('._-', cName);
  set(' \t\n\r\v\f', cSpace);
  set('e-Agsrxn', cPrefix);
  set('psabtPSABT', cPrefix);
  cls[95] |= cUnderscore;
  cls[45] |= cDash;
  cls[46] |= cDot;
})();

const is = (c, bits) => (cls[c] & bits) !== 0;
const C = (ch) => ch.charCodeAt(0);

// runLen returns how many bytes of b from i (to end) are in the class bits.
function runLen(b, i, bits, end = b.length) {
  let j = i;
  while (j < end && (cls[b[j]] & bits) !== 0) j++;
  return j - i;
}

function hasPrefixAt(b, i, p) {
  if (i < 0 || i + p.length > b.length) return false;
  for (let k = 0; k < p.length; k++) if (b[i + k] !== p.charCodeAt(k)) return false;
  return true;
}

// hasPrefixFoldAt reports whether b[i:] starts with the lowercase ASCII p,
// ignoring ASCII case.
function hasPrefixFoldAt(b, i, p, end = b.length) {
  if (i < 0 || end - i < p.length) return false;
  for (let k = 0; k < p.length; k++) {
    let c = b[i + k];
    if (c >= 65 && c <= 90) c += 32;
    if (c !== p.charCodeAt(k)) return false;
  }
  return true;
}

function indexOfStr(b, s, from) {
  return b.indexOf(s, from, 'latin1');
}

function containsByteIn(b, start, end, chars) {
  for (let i = start; i < end; i++) if (chars.includes(String.fromCharCode(b[i]))) return true;
  return false;
}

function bytesEqualStr(b, start, end, s) {
  if (end - start !== s.length) return false;
  return hasPrefixAt(b, start, s);
}

// ---------------------------------------------------------------------------
// Secret

const MIN_SECRET_LEN = 8;
const MIN_TOKEN_LEN = 24;
const MIN_HEX_LEN = 32;

function hasSecret(b) {
  const sc = { b, jwtSkip: 0, skSkip: 0, slackSkip: 0, patSkip: 0, pemChecked: false };
  let run = -1;
  let bits = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    const k = cls[c];
    if (k & cTok) {
      if (run < 0) {
        run = i;
        bits = 0;
      }
      bits |= k;
    } else if (run >= 0) {
      if (worthEntropy(i - run, bits) && highEntropyRun(b, run, i)) return true;
      run = -1;
    }
    if ((k & cPrefix) && (c === 45 || i === 0 || (cls[b[i - 1]] & cAlnum) === 0) && prefixAt(sc, i)) return true;
  }
  return run >= 0 && worthEntropy(b.length - run, bits) && highEntropyRun(b, run, b.length);
}

function worthEntropy(n, bits) {
  return n >= MIN_TOKEN_LEN && (bits & cDigit) !== 0 && (n >= MIN_HEX_LEN || (bits & cLetter) === cLetter);
}

function containsDigit(b, start, end) {
  for (let i = start; i < end; i++) if (b[i] >= 48 && b[i] <= 57) return true;
  return false;
}

function prefixAt(sc, i) {
  const b = sc.b;
  switch (b[i]) {
    case C('e'):
      if (i >= sc.jwtSkip && hasPrefixAt(b, i, 'eyJ')) {
        const [ok, end] = isJWT(b, i);
        if (ok) return true;
        sc.jwtSkip = i + end;
      }
      break;
    case C('-'):
      if (!sc.pemChecked && hasPrefixAt(b, i, '-----BEGIN')) {
        sc.pemChecked = true;
        if (indexOfStr(b, 'PRIVATE KEY', i + 10) >= 0) return true;
      }
      break;
    case C('A'):
      if ((hasPrefixAt(b, i, 'AKIA') || hasPrefixAt(b, i, 'ASIA')) && runLen(b, i + 4, cUpper | cDigit) >= 16) return true;
      if (hasPrefixAt(b, i, 'AIza') && runLen(b, i + 4, cB64URL) >= 35) return true;
      break;
    case C('g'):
      if (b.length - i > 4 && b[i + 1] === C('h') && b[i + 3] === C('_') && 'pousr'.includes(String.fromCharCode(b[i + 2])) &&
        runLen(b, i + 4, cAlnum) >= 20) return true;
      if (i >= sc.patSkip && hasPrefixAt(b, i, 'github_pat_')) {
        const n = runLen(b, i + 11, cAlnum | cUnderscore);
        if (n >= 22) return true;
        sc.patSkip = i + 11 + n;
      }
      break;
    case C('s'):
      if ((hasPrefixAt(b, i, 'sk_live_') || hasPrefixAt(b, i, 'sk_test_')) && runLen(b, i + 8, cAlnum) >= 16) return true;
      if (i >= sc.skSkip && hasPrefixAt(b, i, 'sk-')) {
        const [ok, end] = isDashKey(b, i + 3);
        if (ok) return true;
        sc.skSkip = i + 3 + end;
      }
      break;
    case C('r'):
      if ((hasPrefixAt(b, i, 'rk_live_') || hasPrefixAt(b, i, 'rk_test_')) && runLen(b, i + 8, cAlnum) >= 16) return true;
      break;
    case C('x'):
      if (i >= sc.slackSkip && b.length - i > 5 && hasPrefixAt(b, i, 'xox') && 'abprs'.includes(String.fromCharCode(b[i + 3])) && b[i + 4] === C('-')) {
        const t = i + 5;
        const n = runLen(b, t, cAlnum | cDash);
        if (n >= 10 && containsDigit(b, t, t + n)) return true;
        sc.slackSkip = i + 5 + n;
      }
      break;
    case C('n'):
      if (hasPrefixAt(b, i, 'npm_') && runLen(b, i + 4, cAlnum) >= 36) return true;
      break;
  }
  switch (b[i] | 0x20) {
    case C('p'): case C('s'): case C('a'): case C('t'):
      return isKeyValue(b, i);
    case C('b'):
      return isCredentialAfter(b, i, 'bearer') || isCredentialAfter(b, i, 'basic');
  }
  return false;
}

function isJWT(b, t) {
  const h = runLen(b, t, cB64URL);
  const len = b.length - t;
  if (h < 10 || h >= len || b[t + h] !== C('.')) return [false, h];
  const p = runLen(b, t + h + 1, cB64URL);
  if (p < 4 || h + 1 + p >= len || b[t + h + 1 + p] !== C('.')) return [false, h];
  return [true, h];
}

function isDashKey(b, t) {
  const n = runLen(b, t, cB64URL);
  let lower = false;
  let upper = false;
  let digit = false;
  let stretch = 0;
  for (let i = 0; i < n; i++) {
    const c = cls[b[t + i]];
    if ((c & cAlnum) === 0) {
      stretch = 0;
      continue;
    }
    stretch++;
    if (stretch >= 20) return [true, n];
    lower = lower || (c & cLower) !== 0;
    upper = upper || (c & cUpper) !== 0;
    digit = digit || (c & cDigit) !== 0;
  }
  return [n >= 20 && lower && upper && digit, n];
}

const SECRET_KEYS = ['password', 'passphrase', 'passwd', 'secret', 'api_key', 'apikey', 'api-key', 'access_token', 'auth_token', 'private_key', 'token'];

// Words that, after "password is", make a sentence about the password rather
// than the password itself ("password is required").
const PROSE_AFTER_IS = new Set(['a', 'an', 'the', 'not', 'required', 'invalid', 'incorrect', 'wrong', 'missing',
  'expired', 'empty', 'too', 'set', 'unset', 'valid', 'correct', 'needed', 'optional']);

function isKeyValue(b, i) {
  const first = b[i] | 0x20;
  for (const k of SECRET_KEYS) {
    if (k.charCodeAt(0) !== first || !hasPrefixFoldAt(b, i, k)) continue;
    let j = i + k.length;
    let quoted = false;
    if (j < b.length && (b[j] === 34 || b[j] === 39) && i > 0 && b[i - 1] === b[j]) {
      quoted = true;
      j++;
    }
    const sp = j;
    while (j < b.length && (b[j] === 32 || b[j] === 9)) j++;
    if (j > sp && !quoted && isPhrase(b, j)) return true;
    if (j >= b.length || (b[j] !== C('=') && b[j] !== C(':'))) continue;
    const colon = b[j] === C(':');
    j++;
    let spaced = false;
    while (j < b.length && (b[j] === 32 || b[j] === 9)) {
      j++;
      spaced = true;
    }
    if (colon && spaced && !quoted) continue;
    if (j < b.length && (b[j] === 34 || b[j] === 39)) j++;
    if (j < b.length && !is(b[j], cSpace) && !'"\';&,})*<'.includes(String.fromCharCode(b[j]))) return true;
  }
  return false;
}

// isPhrase reports whether b[j:] is "is <value>" after a secret key, as in
// "my password is hunter2", the value not being a word of PROSE_AFTER_IS.
function isPhrase(b, j) {
  if (!hasPrefixFoldAt(b, j, 'is')) return false;
  j += 2;
  const sp = j;
  while (j < b.length && (b[j] === 32 || b[j] === 9)) j++;
  if (j === sp || j >= b.length) return false;
  let end = j;
  while (end < b.length && !is(b[end], cSpace) && !'.,;!?)'.includes(String.fromCharCode(b[end]))) end++;
  if (end === j || '"\'<*'.includes(String.fromCharCode(b[j]))) return false;
  let w = '';
  for (let k = j; k < end; k++) w += String.fromCharCode(b[k] >= 65 && b[k] <= 90 ? b[k] + 32 : b[k]);
  return !PROSE_AFTER_IS.has(w);
}

// isCredentialAfter reports whether b[t:] starts with word ("bearer", "basic",
// any case), white space and a token of 8 or more characters from
// [A-Za-z0-9._~+/=-] that is not a plain word: it has a digit, punctuation, or
// both cases.
function isCredentialAfter(b, t, word) {
  if (!hasPrefixFoldAt(b, t, word)) return false;
  let j = t + word.length;
  const sp = j;
  while (j < b.length && b[j] === 32) j++;
  if (j === sp) return false;
  let lower = false;
  let upper = false;
  let other = false;
  let n = 0;
  for (; j < b.length; j++) {
    const c = b[j];
    if (!is(c, cTok) && c !== C('.') && c !== C('~')) break;
    lower = lower || is(c, cLower);
    upper = upper || is(c, cUpper);
    other = other || !is(c, cLetter);
    n++;
  }
  return n >= 8 && (other || (lower && upper));
}

// highEntropyRun applies the generic token rule to b[s:e], cutting canonical
// UUIDs out first.
function highEntropyRun(b, s, e) {
  let start = s;
  for (let i = s; i + 36 <= e; i++) {
    if ((i === s || !is(b[i - 1], cAlnum)) && isUUIDAt(b, i) && (i + 36 === e || !is(b[i + 36], cAlnum))) {
      if (suspiciousToken(b, start, i)) return true;
      start = i + 36;
      i += 35;
    }
  }
  return suspiciousToken(b, start, e);
}

function isUUIDAt(b, u) {
  if (b[u + 8] !== 45 || b[u + 13] !== 45 || b[u + 18] !== 45 || b[u + 23] !== 45) return false;
  for (let i = 0; i < 36; i++) {
    if (i === 8 || i === 13 || i === 18 || i === 23) continue;
    if (!is(b[u + i], cHex)) return false;
  }
  return true;
}

const ENTROPY_THRESHOLD = 3.5;
const MAX_WORD_PERCENT = 70;
const MIN_CAPS_WORD = 4;

function suspiciousToken(b, s, e) {
  const len = e - s;
  if (len < MIN_TOKEN_LEN) return false;
  if (len >= MIN_HEX_LEN) {
    let seg = s;
    for (let j = s; j <= e; j++) {
      if (j === e || !is(b[j], cAlnum)) {
        if (j - seg >= MIN_HEX_LEN && hexSecret(b, seg, j)) return true;
        seg = j + 1;
      }
    }
  }
  const counts = new Int32Array(128);
  let lower = false;
  let upper = false;
  let digit = false;
  let letters = 0;
  let wordy = 0;
  let run = 0;
  for (let j = s; j <= e; j++) {
    let k = 0;
    if (j < e) {
      counts[b[j] & 0x7f]++;
      k = cls[b[j]] & cAlnum;
    }
    if (k === cLower) {
      lower = true;
      letters++;
      run++;
      continue;
    } else if (k === cUpper) {
      upper = true;
      letters++;
    } else if (k === cDigit) {
      digit = true;
    } else if (k === 0) {
      wordy += capsWord(b, s, j);
    }
    wordy += wordCredit(b, s, j, run);
    run = 0;
  }
  if (!lower || !upper || !digit || wordy * 100 >= letters * MAX_WORD_PERCENT) return false;
  return entropy(counts, len) >= ENTROPY_THRESHOLD;
}

function wordCredit(b, s, end, run) {
  if (run < 3) return 0;
  const start = end - run;
  if (start > s && is(b[start - 1], cUpper)) return run + 1;
  return run;
}

// capsWord counts the letters of an all-capitals segment of four or more that
// ends at end (t = b[s:], end relative to b).
function capsWord(b, s, end) {
  let n = 0;
  while (n < end - s && is(b[end - n - 1], cUpper)) n++;
  if (n < MIN_CAPS_WORD || (n < end - s && is(b[end - n - 1], cAlnum))) return 0;
  return n;
}

function hexSecret(b, s, e) {
  const counts = new Int32Array(128);
  let letter = false;
  let digit = false;
  for (let j = s; j < e; j++) {
    const c = b[j];
    if (!is(c, cHex)) return false;
    counts[(c | 0x20) & 0x7f]++;
    if (is(c, cDigit)) digit = true;
    else letter = true;
  }
  return letter && digit && entropy(counts, e - s) >= 3.0;
}

function entropy(counts, n) {
  let h = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (c > 0) {
      const p = c / n;
      h -= p * Math.log2(p);
    }
  }
  return h;
}

// ---------------------------------------------------------------------------
// Credentials in URLs

function hasCredentialURL(b) {
  for (let off = 0; off < b.length;) {
    const k = indexOfStr(b, '://', off);
    if (k < 0) break;
    const a = k + 3;
    let e = a;
    let at = -1;
    while (e < b.length && !authorityEnd(b[e])) {
      if (b[e] === 64) at = e;
      e++;
    }
    if (at > a && !bytesEqualStr(b, a, at, 'git')) return true;
    off = e;
  }
  for (let off = 0; ;) {
    const at = b.indexOf(64, off);
    if (at < 0) return false;
    off = at + 1;
    const u = localStart(b, at);
    if (u === at) continue;
    if (isDSN(b, u, at)) return true;
    const [hs, end] = domainAt(b, at + 1);
    if (scpPath(b, end) && b.indexOf(46, hs) >= 0 && b.indexOf(46, hs) < end && hostHasLetter(b, hs, end) &&
      !bytesEqualStr(b, u, at, 'git') && !(u >= 3 && hasPrefixAt(b, u - 3, '://'))) return true;
  }
}

// hostHasLetter reports whether the host b[s:e] has an ASCII letter (Go:
// strings.ContainsFunc over runes; multi-byte runes are never ASCII letters).
function hostHasLetter(b, s, e) {
  for (let i = s; i < e; i++) if (b[i] < 0x80 && is(b[i], cLetter)) return true;
  return false;
}

function authorityEnd(c) {
  return is(c, cSpace) || '/?#\\"\'<>'.includes(String.fromCharCode(c));
}

function isDSN(b, u, at) {
  if (u < 2 || b[u - 1] !== C(':') || !is(b[u - 2], cLocal)) return false;
  let j = at + 1;
  j += runLen(b, j, cLower);
  return j < b.length && (b[j] === C('(') || (j === at + 1 && b[j] === C('/')));
}

function scpPath(b, end) {
  if (end + 1 >= b.length || b[end] !== C(':')) return false;
  const c = b[end + 1];
  return is(c, cAlnum) || c >= 0x80 || '/~._-'.includes(String.fromCharCode(c));
}

// ---------------------------------------------------------------------------
// E-mail

function localStart(b, at) {
  let u = at;
  while (u > 0 && is(b[u - 1], cLocal)) u--;
  return u;
}

// domainAt returns [start, end] of the host name that starts at i, without
// trailing dots and dashes.
function domainAt(b, i) {
  let e = i + runLen(b, i, cDomain);
  while (e > i && (b[e - 1] === 46 || b[e - 1] === 45)) e--;
  return [i, e];
}

function hasEmail(b) {
  for (let off = 0; ;) {
    const at = b.indexOf(64, off);
    if (at < 0) return false;
    off = at + 1;
    const u = localStart(b, at);
    if (u === at) continue;
    const [ds, end] = domainAt(b, at + 1);
    if (!emailDomain(b, ds, end) || scpPath(b, end) || (u >= 3 && hasPrefixAt(b, u - 3, '://'))) continue;
    return true;
  }
}

function emailDomain(b, s, e) {
  let dot = -1;
  let last = -1;
  for (let i = s; i < e; i++) {
    if (b[i] === 46) {
      if (dot < 0) dot = i;
      last = i;
    }
  }
  if (dot <= s) return false;
  const tldLen = e - (last + 1);
  if (tldLen < 2) return false;
  for (let i = last + 1; i < e; i++) if (!is(b[i], cLetter) && b[i] < 0x80) return false;
  // first label, without a leading "v" or "V" (Go trims one "v" then one "V")
  let fs = s;
  if (fs < dot && b[fs] === C('v')) fs++;
  if (fs < dot && b[fs] === C('V')) fs++;
  if (fs < dot && runLen(b, fs, cDigit, dot) === dot - fs && is(b[dot + 1], cDigit)) return false;
  const n = runLen(b, s, cDigit, dot);
  if (n > 0 && n === dot - s - 1 && (b[s + n] | 0x20) === C('x')) return false;
  return true;
}

// ---------------------------------------------------------------------------
// IP addresses

function hasIPv4(b) {
  for (let i = 0; i < b.length;) {
    const c = b[i];
    if (c !== 46 && !is(c, cDigit)) {
      i++;
      continue;
    }
    let j = i;
    while (j < b.length && (b[j] === 46 || is(b[j], cDigit))) j++;
    if ((i === 0 || (b[i - 1] | 0x20) !== C('v')) && dottedQuad(b, i, j)) return true;
    i = j;
  }
  return false;
}

function dottedQuad(b, s, e) {
  while (s < e && b[s] === 46) s++;
  while (e > s && b[e - 1] === 46) e--;
  let parts = 0;
  let q = s;
  while (q < e) {
    const n = runLen(b, q, cDigit, e);
    if (n === 0 || n > 3) return false;
    let v = 0;
    for (let k = q; k < q + n; k++) v = v * 10 + (b[k] - 48);
    if (v > 255) return false;
    parts++;
    q += n;
    if (q < e) {
      if (b[q] !== 46 || q + 1 === e) return false;
      q++;
    }
  }
  return parts === 4;
}

function hasIPv6(b) {
  for (let i = 0; i < b.length;) {
    if (!is(b[i], cV6)) {
      i++;
      continue;
    }
    const j = i + runLen(b, i, cV6);
    if (ipv6Candidate(b, i, j)) return true;
    i = j;
  }
  return false;
}

// parseAddr accepts what Go's netip.ParseAddr accepts for a candidate made of
// hex digits, colons and dots.
function parseAddr(c) {
  if (c.includes(':')) {
    if (!require('node:net').isIPv6(c)) return false;
    // netip refuses an embedded IPv4 part with leading zeros.
    const dot = c.lastIndexOf(':');
    const v4 = c.slice(dot + 1);
    if (v4.includes('.') && v4.split('.').some((p) => p.length > 1 && p[0] === '0')) return false;
    return true;
  }
  return require('node:net').isIPv4(c) && !c.split('.').some((p) => p.length > 1 && p[0] === '0');
}

function ipv6Candidate(b, i, j) {
  let c = b.toString('latin1', i, j);
  c = c.replace(/\.+$/, '');
  if (c.endsWith(':') && !c.endsWith('::')) c = c.slice(0, -1);
  if (c.startsWith(':::') || (c.startsWith(':') && !c.startsWith('::'))) {
    c = c.slice(1);
    i++;
  }
  const end = i + c.length;
  if (i > 0 && (is(b[i - 1], cAlnum) || b[i - 1] === 95)) return false;
  if (end < b.length && (is(b[end], cAlnum) || b[end] === 95)) return false;
  const colons = c.split(':').length - 1;
  if (colons < 2 || !/[0-9]/.test(c)) return false;
  if (!c.includes('::') && colons !== 7 && !(colons === 6 && c.includes('.'))) return false;
  return parseAddr(c);
}

// ---------------------------------------------------------------------------
// Home paths

const pathFold = new Uint8Array(256);
for (let i = 0; i < 256; i++) pathFold[i] = i;
for (let c = 65; c <= 90; c++) pathFold[c] = c + 32;
pathFold[92] = 47;

function homeOf(rules) {
  let h = rules && typeof rules.home === 'string' ? rules.home : '';
  while (h.length > 0 && (h[h.length - 1] === '/' || h[h.length - 1] === '\\')) h = h.slice(0, -1);
  if (h.length <= 1 || (h.length === 2 && h[1] === ':')) return null;
  return Buffer.from(h, 'utf8');
}

function hasHome(b, h) {
  if (!h || h.length > b.length) return false;
  const h0 = pathFold[h[0]];
  for (let i = 0; i + h.length <= b.length; i++) {
    if (pathFold[b[i]] !== h0) continue;
    let j = 1;
    while (j < h.length && pathFold[b[i + j]] === pathFold[h[j]]) j++;
    if (j === h.length) return true;
  }
  return false;
}

function hasHomeShape(b) {
  let inURL = false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    switch (c) {
      case 32: case 9: case 10: case 13: case 11: case 12: case 34: case 39: case 96: case 60: case 62: case 63: case 35: case 61: case 38:
        inURL = false;
        break;
      case 58:
        if (hasPrefixAt(b, i, '://')) inURL = webScheme(b, i);
        break;
      case 126:
        if (i + 1 < b.length && (b[i + 1] === 47 || b[i + 1] === 92) && wordStart(b, i)) return true;
        break;
      case 47: case 92:
        if (homeAt(b, i, inURL)) return true;
        break;
    }
  }
  return false;
}

function webScheme(b, i) {
  for (const sc of ['https', 'http', 'wss', 'ws']) {
    const j = i - sc.length;
    if (j >= 0 && hasPrefixFoldAt(b, j, sc) && (j === 0 || (!is(b[j - 1], cAlnum) && b[j - 1] !== 43 && b[j - 1] !== 46 && b[j - 1] !== 45))) return true;
  }
  return false;
}

function wordStart(b, i) {
  return i === 0 || is(b[i - 1], cSpace) || '"\'`=:,;([{<>|'.includes(String.fromCharCode(b[i - 1]));
}

// nameAt returns [start, end] of the user name at k, or null.
function nameAt(b, k) {
  const n = runLen(b, k, cName);
  if (runLen(b, k, cDot, k + n) === n) return null;
  return [k, k + n];
}

function homeAt(b, i, inURL) {
  if (b[i] === 47 && !inURL && hasPrefixAt(b, i, '/home/') && nameAt(b, i + 6) !== null) return true;
  if (b[i] === 47 && hasPrefixAt(b, i, '/root') && wordStart(b, i) && (b.length - i === 5 || !is(b[i + 5], cName))) return true;
  if (b.length - i < 6 || !hasPrefixFoldAt(b, i + 1, 'users')) return false;
  let backslash = b[i] === 92;
  let k = i + 6;
  while (k < b.length && (b[k] === 47 || b[k] === 92)) {
    backslash = backslash || b[k] === 92;
    k++;
  }
  if (k === i + 6) return false;
  const name = nameAt(b, k);
  if (name === null) return false;
  for (const x of ['shared', 'public', 'default', 'all']) {
    if (name[1] - name[0] === x.length && hasPrefixFoldAt(b, name[0], x)) return false;
  }
  let j = i;
  while (j > 0 && (b[j - 1] === 47 || b[j - 1] === 92)) {
    backslash = backslash || b[j - 1] === 92;
    j--;
  }
  if (backslash) return true;
  if (j >= 2 && b[j - 1] === 58 && is(b[j - 2], cLetter)) return true;
  if (j >= 6 && hasPrefixAt(b, j - 6, '/mnt/') && is(b[j - 1], cLetter)) return true;
  if (hasPrefixAt(b, i + 1, 'Users') && !inURL) return true;
  return false;
}

// ---------------------------------------------------------------------------
// Secrets in URLs

const SECRET_PARAMS = ['token', 'access_token', 'refresh_token', 'id_token', 'auth', 'key', 'apikey', 'api_key',
  'api-key', 'secret', 'client_secret', 'password', 'pass', 'pwd', 'sig', 'signature',
  'x-amz-signature', 'x-amz-credential', 'x-amz-security-token', 'x-goog-signature',
  'x-goog-credential', 'private_token'];

// hasSecretQuery finds a query parameter of SECRET_PARAMS with a non-empty
// value after a '?'.
function hasSecretQuery(b) {
  const q = b.indexOf(63);
  if (q < 0) return false;
  for (let i = q; i < b.length; i++) {
    let c = b[i];
    if (is(c, cSpace)) {
      const n = b.indexOf(63, i);
      if (n < 0) return false;
      i = n;
      c = 63;
    }
    if (c !== 63 && c !== 38 && c !== 59) continue;
    const r = i + 1;
    for (const p of SECRET_PARAMS) {
      if (b.length - r > p.length + 1 && hasPrefixFoldAt(b, r, p) && b[r + p.length] === C('=')) {
        const v = b[r + p.length + 1];
        if (v !== 38 && v !== 35 && v !== 59 && !is(v, cSpace)) return true;
      }
    }
  }
  return false;
}

// Incoming-webhook URL prefixes: the URL itself is the credential.
const WEBHOOK_HOSTS = ['hooks.slack.com/', 'discord.com/api/webhooks/', 'discordapp.com/api/webhooks/',
  'webhook.office.com/', 'outlook.office.com/webhook', 'hooks.zapier.com/',
  'chat.googleapis.com/v1/spaces/', 'api.telegram.org/bot', 'events.pagerduty.com/integration/'];

function hasWebhook(b) {
  for (let i = 0; i < b.length; i++) {
    if (i > 0 && b[i - 1] !== 47 && b[i - 1] !== 46 && !is(b[i - 1], cSpace)) continue;
    for (const h of WEBHOOK_HOSTS) {
      if ((b[i] | 0x20) === h.charCodeAt(0) && hasPrefixFoldAt(b, i, h)) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------
// Absolute paths

// hasAbsolutePath finds an absolute file path at a word start, outside the
// path of a URL: POSIX with two or more components, a Windows drive or UNC
// share, a file: URL.
function hasAbsolutePath(b) {
  let inURL = false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (is(c, cSpace) || '"\'`<>'.includes(String.fromCharCode(c))) {
      inURL = false;
    } else if (c === 58) {
      if (hasPrefixAt(b, i, '://')) {
        if (i >= 4 && hasPrefixFoldAt(b, i - 4, 'file')) return true;
        inURL = true;
      }
    } else if (inURL || !wordStart(b, i)) {
      // inside a URL, or not at a word start
    } else if (c === 47) {
      const n = runLen(b, i + 1, cName);
      const k = i + 1 + n;
      if (n > 0 && k + 1 < b.length && b[k] === 47 && is(b[k + 1], cName) && runLen(b, i + 1, cDot, k) !== n) return true;
    } else if (c === 92) {
      if (i + 2 < b.length && b[i + 1] === 92 && is(b[i + 2], cName)) return true;
    } else if (is(c, cLetter)) {
      if (i + 3 < b.length && b[i + 1] === 58 && (b[i + 2] === 92 || b[i + 2] === 47) && is(b[i + 3], cName)) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------

// reason reports why s looks personal or secret, or '' when it is safe to
// send. rules.home is the user's home directory; rules.absolutePaths flags
// every absolute file path (the SDK sets it).
function reason(s, rules) {
  if (typeof s !== 'string' || s === '') return '';
  const b = Buffer.from(s, 'utf8');
  const at = b.indexOf(64) >= 0;
  const colon = b.indexOf(58) >= 0;
  const dot = b.indexOf(46) >= 0;
  const query = b.indexOf(63) >= 0;
  const sep = b.indexOf(47) >= 0 || b.indexOf(92) >= 0 || b.indexOf(126) >= 0;
  if (b.length >= MIN_SECRET_LEN && hasSecret(b)) return SECRET;
  if ((at && hasCredentialURL(b)) || (query && hasSecretQuery(b)) || (dot && sep && hasWebhook(b))) return CREDENTIAL_URL;
  if (at && dot && hasEmail(b)) return EMAIL;
  if ((dot && hasIPv4(b)) || (colon && hasIPv6(b))) return IP_ADDRESS;
  if ((sep && hasHomeShape(b)) || hasHome(b, homeOf(rules))) return HOME_PATH;
  if (rules && rules.absolutePaths && (sep || colon) && hasAbsolutePath(b)) return PATH;
  return '';
}

// check reports whether s must be replaced by the placeholder.
function check(s, rules) {
  return reason(s, rules) !== '';
}

module.exports = { reason, check, PLACEHOLDER, EMAIL, IP_ADDRESS, CREDENTIAL_URL, HOME_PATH, SECRET, PATH };

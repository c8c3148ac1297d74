'use strict';
// Property values made safe to send: strings, numbers, bools and lists of
// those; strings made well-formed, cut to 256 characters and replaced by
// "[redacted]" when they look personal or secret.

const { check, PLACEHOLDER } = require('./redact.js');

const MAX_PROPERTIES = 64;
const MAX_STRING = 256; // characters (code points)
const MAX_LIST = 256;
const KEY_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const EVENT_RE = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function validKey(k) {
  return typeof k === 'string' && KEY_RE.test(k);
}

function validEventName(n) {
  return typeof n === 'string' && EVENT_RE.test(n);
}

// cut returns s cut to n code points.
function cut(s, n) {
  if (s.length <= n) return s;
  let points = 0;
  for (let i = 0; i < s.length; i++) {
    if (points === n) return s.slice(0, i);
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    points++;
  }
  return s;
}

// cleanString is the sanitizer every string value goes through.
function cleanString(s, rules) {
  s = s.replace(LONE_SURROGATE, '\uFFFD');
  s = cut(s, MAX_STRING);
  return check(s, rules) ? PLACEHOLDER : s;
}

// value cleans one value; lists are allowed only at the top level. It returns
// undefined for a value that cannot be sent.
function value(v, rules, listOK) {
  switch (typeof v) {
    case 'string':
      return cleanString(v, rules);
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : undefined;
    case 'bigint':
      return v >= -(2n ** 63n) && v < 2n ** 64n ? (Number.isSafeInteger(Number(v)) ? Number(v) : undefined) : undefined;
    case 'object': {
      if (!listOK || !Array.isArray(v)) return undefined;
      const n = Math.min(v.length, MAX_LIST);
      const out = new Array(n);
      for (let i = 0; i < n; i++) {
        const e = value(v[i], rules, false);
        if (e === undefined) return undefined;
        out[i] = e;
      }
      return out;
    }
  }
  return undefined;
}

// props cleans the key/value pairs of a property or build object, given as a
// flat array [k0, v0, k1, v1, …]. Keys are sorted and the first 64 valid ones
// kept, as the Go SDK does. It returns { out, dropped }; out is null when
// nothing is left.
function props(pairs, rules) {
  if (!pairs || pairs.length === 0) return { out: null, dropped: 0 };
  const idx = [];
  for (let i = 0; i < pairs.length; i += 2) idx.push(i);
  idx.sort((a, b) => (pairs[a] < pairs[b] ? -1 : pairs[a] > pairs[b] ? 1 : 0));
  const out = {};
  let kept = 0;
  let dropped = 0;
  for (const i of idx) {
    const k = pairs[i];
    if (kept === MAX_PROPERTIES || !validKey(k)) {
      dropped++;
      continue;
    }
    let v;
    try {
      v = value(pairs[i + 1], rules, true);
    } catch {
      v = undefined;
    }
    if (v === undefined) {
      dropped++;
      continue;
    }
    out[k] = v;
    kept++;
  }
  return { out: kept ? out : null, dropped };
}

// pairsOf copies the own enumerable properties of o shallowly into a flat
// array, at most max of them; a key whose getter throws is skipped. It returns
// the pairs and how many keys were left out.
function pairsOf(o, max) {
  const pairs = [];
  let left = 0;
  const keys = Object.keys(o);
  for (let i = 0; i < keys.length; i++) {
    if (pairs.length >= 2 * max) {
      left = keys.length - i;
      break;
    }
    const k = keys[i];
    try {
      pairs.push(k, o[k]);
    } catch {
      left++;
    }
  }
  return { pairs, left };
}

module.exports = { props, pairsOf, value, cleanString, validKey, validEventName, MAX_PROPERTIES };

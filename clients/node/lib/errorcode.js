'use strict';
// errorCode gives a stable code for an error, with none of its message text,
// for the property of an error event.

// normalizeCode makes a code of at most 64 characters from [A-Z0-9_].
function normalizeCode(s) {
  s = String(s).trim().toUpperCase();
  let out = '';
  for (let i = 0; i < s.length && out.length < 64; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 65 && c <= 90) || (c >= 48 && c <= 57)) out += s[i];
    else if (out.length > 0 && out[out.length - 1] !== '_') out += '_';
  }
  return out.replace(/^_+|_+$/g, '');
}

// Names of built-in conditions, as the Go SDK reports them.
const NAMES = {
  AbortError: 'CANCELED',
  TimeoutError: 'TIMEOUT',
};

// snake turns a constructor name into a code: "ValidationError" becomes
// "VALIDATION_ERROR".
function snake(name) {
  return normalizeCode(name.replace(/([a-z0-9])([A-Z])/g, '$1_$2'));
}

function own(err, key) {
  try {
    return err[key];
  } catch {
    return undefined;
  }
}

// errorCode returns, in order of preference: the code the error (or an error
// in its cause chain) declares in err.code, normalised; a name for well-known
// conditions; the error's constructor name in upper snake case; "" for null or
// undefined. Codes match ^[A-Z0-9_]{1,64}$.
function errorCode(err) {
  try {
    if (err === null || err === undefined) return '';
    if (typeof err !== 'object' && typeof err !== 'function') return 'E_' + normalizeCode(typeof err);
    let e = err;
    for (let depth = 0; e && typeof e === 'object' && depth < 16; depth++) {
      const code = own(e, 'code');
      if (typeof code === 'string' || typeof code === 'number') {
        const c = normalizeCode(code);
        if (c) return c;
      }
      e = own(e, 'cause');
    }
    let name = '';
    const ctor = own(err, 'constructor');
    if (typeof ctor === 'function' && typeof ctor.name === 'string') name = ctor.name;
    const n = own(err, 'name');
    if ((!name || name === 'Error') && typeof n === 'string' && n) name = n;
    if (NAMES[name]) return NAMES[name];
    const c = name ? snake(name) : '';
    return c || 'E_UNKNOWN';
  } catch {
    return 'E_PANIC';
  }
}

module.exports = { errorCode, normalizeCode };

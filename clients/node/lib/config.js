'use strict';
// The options of a client, their defaults and checks, and where its files are.

const path = require('node:path');
const fs = require('node:fs');
const { nodeCrypto } = require('./ids.js');

const DEFAULT_CLOSE_BUDGET = 300; // ms
const DEFAULT_QUEUE_SIZE = 1000; // events waiting between track and the sender
const DEFAULT_FLUSH_INTERVAL = 5000; // ms

const PRODUCT_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

// envPrefix turns a product name into its environment-variable prefix:
// "my-cms" becomes "MY_CMS".
function envPrefix(product) {
  return product.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

// truthy reports whether an environment value means "on": 1, true or yes.
function truthy(v) {
  if (typeof v !== 'string') return false;
  const s = v.trim().toLowerCase();
  return s === '1' || s === 'true' || s === 'yes';
}

// optsOut reports whether an opt-out variable (DO_NOT_TRACK,
// <PRODUCT>_TELEMETRY_DISABLED) set to v says no: any non-empty value but 0,
// false, no and off (trimmed, any case). The privacy-safe reading wins.
function optsOut(v) {
  if (typeof v !== 'string' || v === '') return false;
  const s = v.trim().toLowerCase();
  return s !== '0' && s !== 'false' && s !== 'no' && s !== 'off';
}

// userDir follows Go's os.UserConfigDir (kind "config") and os.UserCacheDir
// (kind "cache"), so that both SDKs find the same files.
function userDir(kind, platform = process.platform, env = process.env) {
  const config = kind === 'config';
  let dir;
  let name;
  switch (platform) {
    case 'win32':
      name = config ? 'AppData' : 'LocalAppData';
      dir = env[name] || env[name.toUpperCase()];
      if (!dir) throw new Error(`%${name}% is not defined`);
      return dir;
    case 'darwin':
      if (!env.HOME) throw new Error('$HOME is not defined');
      return env.HOME + (config ? '/Library/Application Support' : '/Library/Caches');
    default:
      name = config ? 'XDG_CONFIG_HOME' : 'XDG_CACHE_HOME';
      dir = env[name];
      if (dir) {
        if (!dir.startsWith('/')) throw new Error(`path in $${name} is relative`);
        return dir;
      }
      if (!env.HOME) throw new Error(`neither $${name} nor $HOME are defined`);
      return env.HOME + (config ? '/.config' : '/.cache');
  }
}

function pathFor(platform) {
  return platform === 'win32' ? path.win32 : path.posix;
}

// optOutPath is the user-level opt-out file, shared by every product (and
// both SDKs): a user who says no says it once.
function optOutPath(platform = process.platform, env = process.env) {
  return pathFor(platform).join(userDir('config', platform, env), 'abacus', 'telemetry-disabled');
}

function defaultStateDir(product, platform = process.platform, env = process.env) {
  return pathFor(platform).join(userDir('cache', platform, env), product, 'telemetry');
}

// projectKey names a project's spool directory: the first 16 hex digits of
// SHA-256 of the project directory's real path.
function projectKey(projectDir) {
  let p = path.resolve(projectDir);
  try {
    p = fs.realpathSync.native(p);
  } catch {
    // A missing directory keys by its absolute path.
  }
  return projectKeyOf(p);
}

// projectKeyOf hashes a real path into a project key.
function projectKeyOf(realPath) {
  return nodeCrypto().createHash('sha256').update(realPath).digest('hex').slice(0, 16);
}

function optionError(field, expected, got) {
  let shown;
  try {
    shown = typeof got === 'string' ? JSON.stringify(got.length > 80 ? got.slice(0, 80) + '…' : got) : typeof got === 'bigint' ? `${got}n` : typeof got === 'symbol' ? 'a symbol' : got === null ? 'null' : typeof got === 'object' ? 'an object' : String(got);
  } catch {
    shown = 'an unreadable value';
  }
  return new Error(`telemetry: options.${field}: expected ${expected}, got ${shown}`);
}

// resolveOptions checks the options and fills in the defaults that need no
// I/O. It throws an Error naming the field; the client turns it into a
// disabled client whose status says why.
function resolveOptions(o) {
  if (o === null || typeof o !== 'object') throw optionError('', 'an object of options', o);
  const get = (k) => o[k];
  const cfg = {};
  cfg.product = get('product');
  if (typeof cfg.product !== 'string' || !PRODUCT_RE.test(cfg.product)) {
    throw optionError('product', 'a lowercase name matching ^[a-z0-9][a-z0-9._-]{0,63}$', cfg.product);
  }
  const version = get('version');
  if (version !== undefined && typeof version !== 'string') throw optionError('version', 'a string', version);
  cfg.version = version || '';
  const endpoint = get('endpoint');
  cfg.endpoint = '';
  if (endpoint !== undefined && endpoint !== '') {
    let u = null;
    try {
      u = typeof endpoint === 'string' ? new URL(endpoint) : null;
    } catch {
      u = null;
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || !u.host) {
      throw optionError('endpoint', 'an http or https URL', endpoint);
    }
    cfg.endpoint = endpoint.replace(/\/+$/, '');
  }
  const dir = get('dir');
  if (dir !== undefined && typeof dir !== 'string') throw optionError('dir', 'a directory path', dir);
  cfg.dir = path.resolve(dir || process.cwd());
  const env = get('environment');
  if (env !== undefined && typeof env !== 'string') throw optionError('environment', 'development, staging, production, test or other', env);
  cfg.environment = env || '';
  const build = get('build');
  if (build !== undefined && build !== null && typeof build !== 'object') throw optionError('build', 'an object of build settings', build);
  cfg.build = build || null;
  const stateDir = get('stateDir');
  if (stateDir !== undefined && typeof stateDir !== 'string') throw optionError('stateDir', 'a directory path', stateDir);
  if (stateDir) {
    cfg.stateDir = path.resolve(stateDir);
  } else {
    try {
      cfg.stateDir = defaultStateDir(cfg.product);
    } catch (err) {
      throw new Error(`telemetry: options.stateDir: no user cache directory (${err.message}), set stateDir`);
    }
  }
  cfg.closeBudget = positive(get('closeBudget'), 'closeBudget', 'milliseconds', DEFAULT_CLOSE_BUDGET);
  cfg.queueSize = positive(get('queueSize'), 'queueSize', 'events', DEFAULT_QUEUE_SIZE);
  cfg.flushInterval = positive(get('flushInterval'), 'flushInterval', 'milliseconds', DEFAULT_FLUSH_INTERVAL);
  const debug = get('debug');
  if (debug !== undefined && debug !== null && typeof debug !== 'function' && (typeof debug !== 'object' || typeof debug.write !== 'function')) {
    throw optionError('debug', 'a writable stream or a function of one line', debug);
  }
  cfg.debug = debug || null;
  return cfg;
}

function positive(v, field, what, def) {
  if (v === undefined || v === null || v === 0) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw optionError(field, `a positive number of ${what}`, v);
  return v;
}

module.exports = {
  DEFAULT_CLOSE_BUDGET, envPrefix, truthy, optsOut, userDir, optOutPath,
  defaultStateDir, projectKey, projectKeyOf, resolveOptions, PRODUCT_RE,
};

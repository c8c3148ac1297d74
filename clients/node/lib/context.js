'use strict';
// What an event says about the machine and the runtime: no host name, user
// name, path or address.

const fs = require('node:fs');
const { envPrefix } = require('./config.js');
const { readSmall } = require('./fsafe.js');

const SDK_VERSION = '0.1.0';

// normalizeEnvironment maps the many spellings of an environment onto the five
// values of the protocol.
function normalizeEnvironment(v) {
  switch (String(v).trim().toLowerCase()) {
    case 'development': case 'dev': case 'develop': case 'local':
      return 'development';
    case 'staging': case 'stage': case 'preprod': case 'pre-production': case 'preview': case 'uat':
      return 'staging';
    case 'production': case 'prod': case 'live':
      return 'production';
    case 'test': case 'testing':
      return 'test';
  }
  return 'other';
}

// detectEnvironment picks <PRODUCT>_ENV, then NODE_ENV, then APP_ENV, else
// development.
function detectEnvironment(product, env = process.env) {
  for (const k of [envPrefix(product) + '_ENV', 'NODE_ENV', 'APP_ENV']) {
    const v = env[k];
    if (v) return normalizeEnvironment(v);
  }
  return 'development';
}

// The first match wins, so specific providers come before the generic CI.
const CI_PROVIDERS = [
  ['GITHUB_ACTIONS', 'github-actions'], ['GITLAB_CI', 'gitlab'], ['CIRCLECI', 'circleci'],
  ['TRAVIS', 'travis'], ['BUILDKITE', 'buildkite'], ['TF_BUILD', 'azure-pipelines'],
  ['BITBUCKET_BUILD_NUMBER', 'bitbucket'], ['JENKINS_URL', 'jenkins'], ['TEAMCITY_VERSION', 'teamcity'],
  ['APPVEYOR', 'appveyor'], ['DRONE', 'drone'], ['CODEBUILD_BUILD_ID', 'aws-codebuild'],
  ['SEMAPHORE', 'semaphore'], ['BUDDY', 'buddy'], ['NETLIFY', 'netlify'], ['VERCEL', 'vercel'],
  ['CF_PAGES', 'cloudflare-pages'], ['RENDER', 'render'], ['HEROKU_TEST_RUN_ID', 'heroku'],
  ['WOODPECKER', 'woodpecker'], ['CI', 'other'],
];

function detectCI(env = process.env) {
  for (const [k, name] of CI_PROVIDERS) {
    const v = env[k];
    if (!v || v.toLowerCase() === 'false' || v === '0') continue;
    return { ci: true, ciName: name };
  }
  return { ci: false, ciName: '' };
}

// kernelVersion keeps the numeric release of a Linux kernel string
// ("6.1.0-13-amd64" becomes "6.1.0").
function kernelVersion(s) {
  const m = /^[0-9.]*/.exec(s.trim());
  return m[0].replace(/\.+$/, '');
}

// Go's names where Node.js names them otherwise.
const GOOS = { win32: 'windows', sunos: 'solaris' };
const GOARCH = { x64: 'amd64', ia32: '386', ppc64: 'ppc64le', mipsel: 'mipsle' };

function osVersion() {
  try {
    if (process.platform === 'linux') {
      const b = readSmall('/proc/sys/kernel/osrelease');
      return b ? kernelVersion(b.toString()) : '';
    }
    const r = require('node:os').release();
    if (process.platform === 'darwin') {
      // Darwin 20 is macOS 11, and so on; the minor versions match.
      const [maj, min] = r.split('.').map(Number);
      return maj >= 20 ? `${maj - 9}.${min || 0}` : r;
    }
    return kernelVersion(r);
  } catch {
    return '';
  }
}

function inContainer() {
  if (process.platform !== 'linux') return false;
  for (const f of ['/.dockerenv', '/run/.containerenv']) {
    try {
      fs.lstatSync(f);
      return true;
    } catch {
      // absent
    }
  }
  const b = readSmall('/proc/1/cgroup');
  if (!b) return false;
  const s = b.toString();
  return ['docker', 'kubepods', 'containerd', 'libpod'].some((k) => s.includes(k));
}

function inWSL(env = process.env) {
  if (process.platform !== 'linux') return false;
  if (env.WSL_DISTRO_NAME) return true;
  const b = readSmall('/proc/sys/kernel/osrelease');
  return b !== null && b.toString().toLowerCase().includes('microsoft');
}

function cpuCount() {
  try {
    const os = require('node:os');
    if (typeof os.availableParallelism === 'function') return os.availableParallelism();
    return os.cpus().length || 1;
  } catch {
    return 1;
  }
}

// detectContext describes the machine. It reads a few small system files, so
// the client runs it after its constructor has returned, never in track.
function detectContext(env = process.env) {
  const { ci, ciName } = detectCI(env);
  return {
    os: GOOS[process.platform] || process.platform,
    osVersion: osVersion(),
    arch: GOARCH[process.arch] || process.arch,
    cpus: cpuCount(),
    memoryMB: Math.floor(require('node:os').totalmem() / 1048576),
    runtime: 'node',
    runtimeVersion: process.versions.node,
    ci,
    ciName,
    docker: inContainer(),
    wsl: inWSL(env),
    sdk: 'abacus-node/' + SDK_VERSION,
  };
}

module.exports = { SDK_VERSION, normalizeEnvironment, detectEnvironment, detectCI, detectContext, kernelVersion };

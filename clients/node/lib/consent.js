'use strict';
// Consent: whether a client may collect anything, decided once, in this order:
// DO_NOT_TRACK, <PRODUCT>_TELEMETRY_DISABLED, the user-level opt-out file, then
// the project's package.json and its <product>.uuid.

const fs = require('node:fs');
const path = require('node:path');
const { envPrefix, optsOut, optOutPath } = require('./config.js');
const { readProjectID, OK, MISSING, NO_UUID } = require('./manifest.js');
const { writeFileAtomic } = require('./fsafe.js');

const ENABLED = 'enabled';

// consent reads the environment, looks for the opt-out file and reads
// package.json; it writes nothing. userOptOut is true when the user (not the
// project) opted out, which also discards every spooled event of the product.
function consent(cfg, env = process.env) {
  const prefix = envPrefix(cfg.product);
  if (optsOut(env.DO_NOT_TRACK)) return { id: '', reason: 'DO_NOT_TRACK is set', userOptOut: true };
  if (optsOut(env[prefix + '_TELEMETRY_DISABLED'])) {
    return { id: '', reason: `${prefix}_TELEMETRY_DISABLED is set`, userOptOut: true };
  }
  let file = '';
  try {
    file = optOutPath(process.platform, env);
  } catch {
    file = '';
  }
  if (file) {
    try {
      fs.lstatSync(file); // existence is the answer: the file is never opened
      return { id: '', reason: `opt-out file ${file} exists (disable())`, userOptOut: true };
    } catch {
      // absent
    }
  }
  const r = readProjectID(cfg.dir, cfg.product);
  switch (r.state) {
    case OK:
      return { id: r.id, reason: ENABLED, userOptOut: false };
    case MISSING:
      return { id: '', reason: 'no package.json in the project directory', userOptOut: false };
    case NO_UUID:
      return {
        id: '',
        reason: `no uuid: package.json has no ${cfg.product}.uuid (the project opted out or was not created by ${cfg.product})`,
        userOptOut: false,
      };
    default:
      return { id: '', reason: `invalid package.json: ${r.error}`, userOptOut: false };
  }
}

const OPT_OUT_TEXT = 'Telemetry of products using the Abacus SDK is disabled for this user.\n' +
  'Delete this file, or run the product\'s "telemetry enable" command, to enable it.\n';

// disable records the user-level opt-out: no client of any product using the
// Abacus SDK (Go or Node.js) collects or sends anything for this user.
async function disable() {
  let file;
  try {
    file = optOutPath();
  } catch (err) {
    throw new Error(`telemetry: cannot find the user config directory: ${err.message}`);
  }
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new Error(`telemetry: cannot create ${JSON.stringify(path.dirname(file))}: ${err.message}`);
  }
  try {
    writeFileAtomic(file, Buffer.from(OPT_OUT_TEXT), 0o644);
  } catch (err) {
    throw new Error(`telemetry: cannot write opt-out file ${JSON.stringify(file)}: ${err.message}`);
  }
}

// enable removes the opt-out written by disable. It does not override
// DO_NOT_TRACK, <PRODUCT>_TELEMETRY_DISABLED or a project without a uuid.
async function enable() {
  let file;
  try {
    file = optOutPath();
  } catch (err) {
    throw new Error(`telemetry: cannot find the user config directory: ${err.message}`);
  }
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if (err.code !== 'ENOENT') throw new Error(`telemetry: cannot remove opt-out file ${JSON.stringify(file)}: ${err.message}`);
  }
}

module.exports = { consent, disable, enable, ENABLED };

'use strict';
// @abacushq/telemetry: anonymous, opt-out-able usage telemetry for a Node.js
// CLI or framework, the Node.js twin of the Abacus Go SDK. See README.md.

const { Telemetry, recent } = require('./lib/client.js');
const { createProject } = require('./lib/manifest.js');
const { disable, enable } = require('./lib/consent.js');
const { errorCode } = require('./lib/errorcode.js');
const { SDK_VERSION } = require('./lib/context.js');

module.exports = { Telemetry, createProject, disable, enable, errorCode, recent, SDK_VERSION };

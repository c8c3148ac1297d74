// Drives the real Node.js clients against a running collector. Usage:
//   node clients.mjs '<JSON config>'
// The config names the collector URL and, per client, the project and the
// identifiers to send. Prints one JSON line: what each client reported.
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const cfg = JSON.parse(process.argv[2]);
const out = {};

// posthog-node: two clients, the second retrying the first one's uuid.
{
  const { PostHog } = require('posthog-node');
  const c = cfg.posthogNode;
  for (let round = 0; round < 2; round++) {
    const ph = new PostHog(c.apiKey, { host: cfg.url + '/posthog', flushAt: 20, flushInterval: 0, fetchRetryCount: 0 });
    ph.capture({ distinctId: c.distinctId, event: 'didUseFeature', uuid: c.uuid, groups: { project: c.project },
      properties: { feature: c.feature, email: c.email, $set: { email: c.email }, $ip: c.ip } });
    if (round === 0) {
      ph.identify({ distinctId: c.distinctId, properties: { email: c.email } });
      ph.capture({ distinctId: c.distinctId, event: 'undeclaredEvent', properties: { projectId: c.project } });
      ph.capture({ distinctId: c.distinctId, event: 'ping', properties: { projectId: c.project } });
    }
    await ph.shutdown();
  }
  out.posthogNode = 'sent';
}

// @segment/analytics-node: host is the root, the path names the route.
{
  const { Analytics } = require('@segment/analytics-node');
  const c = cfg.segmentNode;
  for (let round = 0; round < 2; round++) {
    const a = new Analytics({ writeKey: c.writeKey, host: cfg.url, path: '/segment/v1/batch', maxRetries: 0, flushInterval: 50 });
    const errors = [];
    a.on('error', (e) => errors.push(String(e && (e.reason || e.message || e))));
    a.track({ anonymousId: c.anonymousId, userId: c.userId, event: 'didUseFeature', messageId: c.messageId,
      properties: { feature: c.feature, email: c.email },
      context: { groupId: c.project, ip: c.ip, userAgent: 'Mozilla/5.0 ' + c.email, traits: { email: c.email } } });
    if (round === 0) {
      a.identify({ userId: c.userId, traits: { email: c.email } });
      a.page({ anonymousId: c.anonymousId, name: 'Home', properties: { url: 'https://example.com/' + c.email } });
      a.track({ anonymousId: c.anonymousId, event: 'ping', context: { groupId: c.project } });
    }
    await a.closeAndFlush({ timeout: 10000 });
    if (errors.length) throw new Error('analytics-node: ' + errors.join('; '));
  }
  out.segmentNode = 'sent';
}

// @strapi/core's own metrics sender, with a minimal stand-in for the app.
{
  const c = cfg.strapi;
  process.env.STRAPI_ANALYTICS_URL = 'https://analytics.invalid';
  const createSender = require('./node_modules/@strapi/core/dist/services/metrics/sender.js') // not in the package's exports: loaded by path;
  let admin = null;
  const app = {
    config: {
      uuid: c.project,
      installId: c.installId,
      environment: 'production',
      packageJsonStrapi: { database: 'postgres', contact: c.email },
      get: (key) => (key === 'info.strapi' ? '5.54.0' : undefined),
    },
    dirs: { app: { root: mkdtempSync(join(tmpdir(), 'strapi-app-')) } },
    requestContext: { get: () => (admin ? { state: { user: { email: admin } } } : undefined) },
    EE: false,
    // The sender posts to STRAPI_ANALYTICS_URL + /api/v2/track; the
    // stand-in's fetch sends that path to the collector instead.
    fetch: (url, params) => fetch(cfg.url + new URL(url).pathname, params),
  };
  const send = createSender(app);
  const results = [];
  admin = c.email;
  results.push(await send('didStartServer', { eventProperties: { durationMs: 1234, path: '/home/' + c.email } }));
  admin = null;
  results.push(await send('ping'));
  results.push(await send('didOpenAdminPanel'));
  out.strapi = results;
}

console.log(JSON.stringify(out));

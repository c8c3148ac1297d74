'use strict';
// One request: a gzip JSON batch posted with node:http or node:https, which
// never follow redirects. The answer is classified; nothing is retried here.

// node:http, node:https and node:zlib are loaded at the first request, so
// that loading the SDK costs the host little.
const { SDK_VERSION } = require('./context.js');

const DELIVERED = 'delivered'; // 2xx
const RETRY = 'retry'; // network error, 3xx, 408, 429, 5xx
const TOO_LARGE = 'too-large'; // 413: split the batch
const REFUSED = 'refused'; // other 4xx: the collector will never take it

const MAX_ANSWER = 1 << 20;
const CONNECT_TIMEOUT = 5000;
const ANSWER_TIMEOUT = 10000;
const REQUEST_TIMEOUT = 30000;
const MAX_RETRY_AFTER = 10 * 60 * 1000;

function batchBody(raws, now) {
  return '{"sentAt":"' + new Date(now).toISOString() + '","events":[' + raws.join(',') + ']}';
}

function statusError(code, body) {
  try {
    const e = JSON.parse(body);
    if (e && typeof e.error === 'string' && e.error) return `collector answered ${code}: ${e.error.slice(0, 200)}`;
  } catch {
    // not our body
  }
  return `collector answered ${code}`;
}

// retryAfter parses a Retry-After header (seconds or an HTTP date) into
// milliseconds, capped at 10 minutes; 0 means absent or unreadable.
function retryAfter(v, now) {
  if (typeof v !== 'string' || v === '') return 0;
  let d = 0;
  if (/^[0-9]+$/.test(v.trim())) d = Number(v.trim()) * 1000;
  else {
    const t = Date.parse(v);
    if (!Number.isNaN(t)) d = t - now;
  }
  if (!Number.isFinite(d)) d = MAX_RETRY_AFTER;
  return Math.max(0, Math.min(d, MAX_RETRY_AFTER));
}

// Sender posts batches to endpoint + /v1/batch over one keep-alive agent whose
// sockets never hold the host's event loop open.
class Sender {
  constructor(endpoint) {
    this.url = new URL(endpoint + '/v1/batch');
    this.mod = this.url.protocol === 'https:' ? require('node:https') : require('node:http');
    this.agent = new this.mod.Agent({ keepAlive: true, maxSockets: 1, timeout: ANSWER_TIMEOUT });
    this.req = null;
  }

  // post sends the encoded events; done(result) is called exactly once, with
  // { verdict, status, answer, retryAfter, error, body }.
  post(raws, done) {
    let finished = false;
    const finish = (res) => {
      if (finished) return;
      finished = true;
      clearTimeout(overall);
      this.req = null;
      done(res);
    };
    const body = batchBody(raws, Date.now());
    const overall = setTimeout(() => {
      if (this.req) this.req.destroy(new Error('request took longer than 30 s'));
    }, REQUEST_TIMEOUT);
    overall.unref();
    require('node:zlib').gzip(body, (err, gz) => {
      if (err) return finish({ verdict: REFUSED, error: `cannot compress batch: ${err.message}` });
      if (finished) return;
      this._request(gz, body, finish);
    });
    return {
      abort: () => {
        if (this.req) this.req.destroy(new Error('close budget reached'));
        finish({ verdict: RETRY, error: 'cannot send batch: close budget reached' });
      },
    };
  }

  _request(gz, body, finish) {
    let req;
    try {
      req = this.mod.request(this.url, {
        method: 'POST',
        agent: this.agent,
        headers: {
          'Content-Type': 'application/json',
          'Content-Encoding': 'gzip',
          'Content-Length': gz.length,
          'User-Agent': 'abacus-node/' + SDK_VERSION,
        },
        timeout: CONNECT_TIMEOUT,
      });
    } catch (err) {
      return finish({ verdict: REFUSED, error: `cannot send batch: ${err.message}` });
    }
    this.req = req;
    req.on('socket', (s) => {
      s.unref();
      if (!s.connecting) req.setTimeout(ANSWER_TIMEOUT);
      else s.once('connect', () => req.setTimeout(ANSWER_TIMEOUT));
    });
    req.on('timeout', () => req.destroy(new Error('no answer in time')));
    req.on('error', (err) => finish({ verdict: RETRY, error: `cannot send batch: ${err.message}` }));
    req.on('response', (res) => {
      const code = res.statusCode;
      const chunks = [];
      let size = 0;
      res.on('data', (c) => {
        size += c.length;
        if (size > MAX_ANSWER) {
          res.destroy();
          return;
        }
        chunks.push(c);
      });
      const end = () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (code >= 200 && code < 300) {
          let answer = null;
          try {
            answer = JSON.parse(text);
          } catch {
            answer = null;
          }
          finish({ verdict: DELIVERED, status: code, answer, body });
        } else if (code >= 300 && code < 400) {
          const to = String(res.headers.location || '').slice(0, 200);
          finish({ verdict: RETRY, status: code, error: `collector answered ${code}, a redirect to ${JSON.stringify(to)}, which is never followed: set the endpoint to the collector's own URL` });
        } else if (code === 408 || code === 429 || code >= 500) {
          finish({ verdict: RETRY, status: code, retryAfter: retryAfter(res.headers['retry-after'], Date.now()), error: statusError(code, text) });
        } else if (code === 413) {
          finish({ verdict: TOO_LARGE, status: code, error: statusError(code, text) });
        } else {
          finish({ verdict: REFUSED, status: code, error: statusError(code, text) });
        }
      };
      res.on('end', end);
      res.on('close', () => {
        if (code >= 200 && code < 300) end();
        else if (!res.complete) finish({ verdict: RETRY, status: code, error: `collector answered ${code}, then the connection broke` });
      });
      res.on('error', () => {});
    });
    req.end(gz);
  }

  close() {
    if (this.req) this.req.destroy();
    this.agent.destroy();
  }
}

module.exports = { Sender, retryAfter, batchBody, DELIVERED, RETRY, TOO_LARGE, REFUSED };

// A local collector for tests: records every request, answers what the test
// says (202 by default), and can hang, reset, redirect or black-hole.
import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export async function startCollector(answer) {
  const c = { requests: [], events: [], sockets: new Set() };
  c.answer = answer || ((batch) => ({ status: 202, body: { accepted: batch.events.length, duplicates: 0, rejected: [] } }));
  c.server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let text = raw;
      if (req.headers['content-encoding'] === 'gzip') {
        try { text = zlib.gunzipSync(raw); } catch { text = Buffer.from('not gzip'); }
      }
      let batch = null;
      try { batch = JSON.parse(text.toString()); } catch { batch = null; }
      c.requests.push({ method: req.method, url: req.url, headers: req.headers, body: text.toString(), batch });
      const a = c.answer(batch, req, c.requests.length);
      if (a === 'hang') return; // never answers
      if (a === 'reset') { req.socket.destroy(); return; }
      if (batch && a.status >= 200 && a.status < 300) c.events.push(...batch.events);
      res.writeHead(a.status, { 'content-type': 'application/json', ...(a.headers || {}) });
      res.end(a.body === undefined ? '' : typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
    });
  });
  c.server.on('connection', (s) => { c.sockets.add(s); s.on('close', () => c.sockets.delete(s)); });
  await new Promise((r) => c.server.listen(0, '127.0.0.1', r));
  c.url = `http://127.0.0.1:${c.server.address().port}`;
  c.close = () => new Promise((r) => { for (const s of c.sockets) s.destroy(); c.server.close(() => r()); });
  return c;
}

// startBlackHole accepts connections and never reads or answers.
export async function startBlackHole() {
  const sockets = new Set();
  const server = net.createServer((s) => { sockets.add(s); s.pause(); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    accepted: () => sockets.size,
    close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

// project makes a temporary project with a package.json holding a uuid for
// product, and the directories of a user (HOME, XDG dirs) beside it.
export function project(product = 'demo', uuid = '7b581c0d-89b7-479e-b379-a76ab90b8754') {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'abacus-node-'));
  const dir = path.join(root, 'project');
  fs.mkdirSync(dir);
  const manifest = { name: 'p' };
  if (uuid) manifest[product] = { uuid };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  const home = path.join(root, 'home');
  fs.mkdirSync(home);
  return {
    root, dir, home,
    stateDir: path.join(root, 'state'),
    env: { HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_CACHE_HOME: path.join(home, '.cache') },
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

// listFiles returns every file below dir, relative.
export function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    let entries = [];
    try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p); else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

// noFilesSoon waits (2 s at most) for dir to hold no file: spool files are
// deleted in the background, after their events are delivered.
export async function noFilesSoon(dir) {
  for (let i = 0; i < 200 && listFiles(dir).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
  return listFiles(dir);
}

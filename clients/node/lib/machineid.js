'use strict';
// The machine ID: HMAC-SHA256 of the OS machine ID keyed by the product name,
// the same in the Go SDK, so that a machine running both counts once. The raw
// ID never leaves the process; a random ID kept in StateDir stands in where the
// OS has none worth using.

const path = require('node:path');
const { readSmall, writeFileAtomic, mkdirPrivate } = require('./fsafe.js');
const { nodeCrypto } = require('./ids.js');

// Known to be shared by many machines (cloned images, placeholder firmware).
const SHARED = new Set(['b08dfa6083e7567a1921a715000001fb', '03000200-0400-0500-0006-000700080009']);

// usableMachineID reports whether raw identifies one machine: after trimming
// and lower-casing, at least 16 hex digits (dashes allowed between them, as in
// a platform UUID), not all zeros or all f, and not a value known to be
// shared. Anything else (systemd's "uninitialized", an empty file, firmware
// text) is unusable, and the random ID kept in StateDir is used instead.
function usableMachineID(raw) {
  if (typeof raw !== 'string') return false;
  const s = raw.trim().toLowerCase();
  if (SHARED.has(s) || !/^[0-9a-f-]*$/.test(s)) return false;
  const digits = s.replace(/-/g, '');
  return digits.length >= 16 && !/^0+$/.test(digits) && !/^f+$/.test(digits);
}

function hashMachineID(raw, product) {
  return nodeCrypto().createHmac('sha256', product).update(raw.trim().toLowerCase()).digest('hex');
}

const LINUX_FILES = ['/etc/machine-id', '/var/lib/dbus/machine-id'];

// rawMachineID asks the OS. On Linux it reads a small file; on macOS, Windows
// and FreeBSD it runs the system's tool (2 s at most), as the Go SDK does.
function rawMachineID() {
  try {
    switch (process.platform) {
      case 'linux':
        for (const f of LINUX_FILES) {
          const b = readSmall(f);
          if (b) {
            const id = b.toString().trim();
            if (id) return id;
          }
        }
        return '';
      case 'darwin': {
        const out = require('node:child_process').execFileSync('/usr/sbin/ioreg', ['-rd1', '-c', 'IOPlatformExpertDevice'], { timeout: 2000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
        for (const line of out.split('\n')) {
          if (!line.includes('IOPlatformUUID')) continue;
          const i = line.indexOf('=');
          if (i >= 0) return line.slice(i + 1).trim().replace(/^"+|"+$/g, '');
        }
        return '';
      }
      case 'win32': {
        const out = require('node:child_process').execFileSync('reg', ['query', 'HKLM\\SOFTWARE\\Microsoft\\Cryptography', '/v', 'MachineGuid'], { timeout: 2000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], windowsHide: true });
        for (const line of out.split('\n')) {
          const f = line.trim().split(/\s+/);
          if (f.length === 3 && f[0] === 'MachineGuid') return f[2];
        }
        return '';
      }
      case 'freebsd': {
        try {
          const v = require('node:child_process').execFileSync('/sbin/sysctl', ['-n', 'kern.hostuuid'], { timeout: 2000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
          if (v) return v;
        } catch {
          // fall through to /etc/hostid
        }
        const b = readSmall('/etc/hostid');
        return b ? b.toString().trim() : '';
      }
    }
  } catch {
    // no ID from the OS
  }
  return '';
}

// machineID returns { id, error }: the product-keyed hash of the OS machine ID,
// or of a random ID kept in stateDir.
function machineID(product, stateDir, raw) {
  if (usableMachineID(raw)) return { id: hashMachineID(raw, product), error: '' };
  const file = path.join(stateDir, 'machine-id');
  const b = readSmall(file);
  if (b && usableMachineID(b.toString())) return { id: hashMachineID(b.toString(), product), error: '' };
  const id = nodeCrypto().randomBytes(16).toString('hex');
  try {
    mkdirPrivate(stateDir);
    writeFileAtomic(file, Buffer.from(id + '\n'), 0o600);
    return { id: hashMachineID(id, product), error: '' };
  } catch (err) {
    return { id: hashMachineID(id, product), error: `cannot keep the machine ID in ${JSON.stringify(file)}: ${err.message}` };
  }
}

module.exports = { usableMachineID, hashMachineID, rawMachineID, machineID };

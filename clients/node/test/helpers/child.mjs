// runNode runs a script in a child node process with a given environment and
// returns { code, stdout, stderr, ms }.
import { spawn } from 'node:child_process';

export function runNode(args, { env = {}, input, timeout = 20000, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`child timed out after ${timeout} ms: ${stderr}`)); }, timeout);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
    if (input !== undefined) child.stdin.end(input); else child.stdin.end();
  });
}

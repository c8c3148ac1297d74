// Preloaded (node -r) into every cold-start run, the bare ones too: prints the
// CPU time (user + system, all threads) the process spent, at exit.
process.on('exit', () => {
  const c = process.cpuUsage();
  process.stdout.write(JSON.stringify({ cpuMs: (c.user + c.system) / 1000 }) + '\n');
});

// Wall-clock bounds on a machine shared with other work: a bound missed is
// retried (the whole scenario, twice more at most) before the test fails, so a
// moment of CPU starvation does not decide it; any other failure fails at once.
export class TimingError extends Error {}

export function within(ms, limit, what) {
  if (!(ms < limit)) throw new TimingError(`${what} took ${ms.toFixed(1)} ms, limit ${limit} ms`);
}

export async function timed(fn, attempts = 3) {
  const missed = [];
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof TimingError)) throw err;
      missed.push(err.message);
    }
  }
  throw new Error(`a time bound was missed ${attempts} times: ${missed.join('; ')}`);
}

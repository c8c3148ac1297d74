// A bare CommonJS script: the baseline of the cold-start benchmark.

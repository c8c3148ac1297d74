// A bare ES module: the baseline of the cold-start benchmark.

"""Running benchmarks: plan what to run, run it through lm-eval or the judge, write results."""

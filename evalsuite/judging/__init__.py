"""LLM-as-judge benchmarks (MT-Bench, KoMT-Bench): answers, judging, scoring, results."""

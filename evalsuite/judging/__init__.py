"""LLM-as-judge benchmarks (MT-Bench, KoMT-Bench, ...): answers, judging, scoring, results.

definitions (judges/*.yaml and their data) -> formats/ (one module per judged format: prompts,
ratings, per-item scores, aggregation) -> client (judge endpoint, cache, concurrent judging) ->
runner (one benchmark end to end); answers (two-turn generation, answer files), language
(language rules), options (flags), embedded_server (the local llama.cpp judge). See
docs/architecture.md.
"""

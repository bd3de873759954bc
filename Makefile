# caspian-harness: two commands do all the set-up on a machine with Python 3.11 and make.
#   make demo   venv + install, simulated stations, acceptance plan, results/<run>/ with report
#   make test   venv + install, the project's test suite
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/harness run --results results

# two pytest-xdist workers per core (tests/conftest.py: most of the suite waits on child
# processes and simulated instruments); a test file stays on one worker (its module-scoped
# campaign runs once), files in collection order (campaign tests first: tests/conftest.py).
# Not in pyproject's addopts: `harness run` starts its own pytest on the acceptance plan,
# which reads the same pyproject and must stay one process.
# The suite starts some 300 Python processes (harness runs, simulators, Dask workers): with
# PYTHONDONTWRITEBYTECODE set (as some containers do) each would compile the project's modules
# again and pytest would rewrite the plan's assertions again, ~5% of the suite's CPU.
test: $(STAMP)
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n auto --dist loadfile --no-loadscope-reorder

# benchmarks get their own venv (pyotdr's wheel installs a top-level "tests" package too; the
# project's tests/ has no __init__.py and never imports "tests", so .venv holds it as well)
BENCH := .venv-bench
$(BENCH)/.installed: pyproject.toml
	$(PY) -m venv $(BENCH)
	$(BENCH)/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test,bench]"
	touch $@

bench: $(BENCH)/.installed
	for b in bench/bench_*.py; do $(BENCH)/bin/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(BENCH) build *.egg-info

# One command for the demo, one for the whole test suite. Both build their own virtualenv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
ARGS ?=

export LANGGRAPH_STRICT_MSGPACK ?= true
export LANGGRAPH_CLI_NO_ANALYTICS ?= 1
export LANGGRAPH_NO_VERSION_CHECK ?= true
export LANGSMITH_TRACING ?= false

.PHONY: demo test lint typecheck pytest serve notebooks clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

## demo: the ReAct agent answers an order question offline, streaming, stopping at the approval gate
demo: $(VENV)/.installed
	$(PY) -m cli demo $(ARGS)

## test: lint, type-check and the whole pytest suite (Postgres, server and notebooks included)
test: lint typecheck pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

pytest: $(VENV)/.installed
	@command -v bwrap >/dev/null 2>&1 || { echo "make test needs bubblewrap for the code sandbox's tests: apt-get install -y bubblewrap" >&2; exit 1; }
	$(PY) -m pytest $(ARGS)

## serve: authenticated langgraph dev on 127.0.0.1:2024 (tokens: AGENT_PATTERNS_TOKENS, or a
## generated local admin token; Studio: https://smith.langchain.com/studio/?baseUrl=http://127.0.0.1:2024)
serve: $(VENV)/.installed
	$(PY) -m server.serve $(ARGS)

## notebooks: JupyterLab on notebooks/ (installed into the virtualenv on first use)
notebooks: $(VENV)/.installed
	@$(VENV)/bin/jupyter-lab --version >/dev/null 2>&1 || $(PY) -m pip install --quiet -c constraints.txt jupyterlab
	$(VENV)/bin/jupyter-lab notebooks/ $(ARGS)

clean:
	rm -rf $(VENV) .agent-patterns .langgraph_api .pytest_cache .mypy_cache .ruff_cache

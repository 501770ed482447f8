# The one task runner: the README's commands and CI call these targets.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: setup system-deps run process demo test lint typecheck pytest templates docs-screenshots bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "需要 Python 3.11 或更高版本"'
	@$(PYTHON) -m venv $(VENV) || { echo "无法创建虚拟环境：请先安装 python3-venv（sudo apt-get install python3-venv）"; exit 1; }
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

system-deps:
	bash scripts/install-system-deps.sh

## The main job: the watcher over inbox/ (sample documents are put in when inbox and database are empty).
run: setup
	$(VENV)/bin/shuangsui watch --demo-if-empty --create

process: setup
	$(VENV)/bin/shuangsui process --create

demo: setup
	$(VENV)/bin/shuangsui demo

## All tests (with lint and type checks). Installs the system packages the tests need first.
test: system-deps setup lint typecheck pytest

lint: setup
	$(VENV)/bin/ruff check pipeline tests scripts benchmarks

typecheck: setup
	$(VENV)/bin/mypy

pytest: setup
	$(VENV)/bin/pytest -q

templates: setup
	$(PY) scripts/build_templates.py

## The pictures of docs/使用说明.md (the office page through Chromium, the documents through pdfium).
docs-screenshots: setup
	$(PY) scripts/docs_screenshots.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# Two entry points, each doing all set-up first (idempotent):
#   make demo   the digits personalization demo, trained in the emulated STM32F746 (Cortex-M7)
#   make test   the whole test suite
# Set-up: Debian packages (cross compiler, newlib, QEMU) when missing, then a virtual
# environment in .venv with edgesdk and the demo's data set package (scikit-learn); `make test` adds the test
# extras (PyTorch, TFLite Micro, PlatformIO, ...).

VENV ?= .venv
PYTHON ?= python3
APT_PACKAGES = gcc gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
BIN = $(VENV)/bin

.PHONY: setup setup-test system-packages demo test lint clean

setup: system-packages $(VENV)/.installed

setup-test: setup $(VENV)/.installed-test

system-packages:
	@missing=""; \
	command -v gcc >/dev/null || missing="$$missing gcc"; \
	command -v arm-none-eabi-gcc >/dev/null || missing="$$missing gcc-arm-none-eabi libnewlib-arm-none-eabi"; \
	command -v qemu-system-arm >/dev/null || missing="$$missing qemu-system-arm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing:$$missing; run as root or: sudo apt-get install -y --no-install-recommends $(APT_PACKAGES)"; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	fi

$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[demo]'
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

demo: setup
	$(BIN)/python examples/digits/demo.py

test: setup-test
	$(BIN)/python -m pytest -q

lint: setup-test
	$(BIN)/ruff check sdk tests benchmarks examples

clean:
	rm -rf $(VENV) build/digits-demo

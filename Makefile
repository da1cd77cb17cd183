# The two commands a newcomer needs: `make run` and `make test`.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST := 127.0.0.1:8000
EDGE := 127.0.0.1:8080

# Local defaults: debug on, SQLite and media under var/. Set DATABASE_URL and
# the other variables in the README to change them.
LOCAL := DJANGO_DEBUG=true

.PHONY: run edge-stop test lint suite lock clean

run: $(INSTALLED)
	@mkdir -p var
	@$(LOCAL) $(BIN)/python manage.py migrate --noinput -v0
	@$(LOCAL) $(BIN)/python manage.py collectstatic --noinput -v0
	@$(LOCAL) $(BIN)/python manage.py loaddemo
	@$(LOCAL) $(BIN)/python manage.py refreshrecommendations
	@$(LOCAL) $(BIN)/python manage.py edge start --origin $(HOST) \
		|| echo "  Continuing without the edge: the site is on :8000."
	@echo
	@echo "  HitRate:      http://$(HOST)/  (through the edge: http://$(EDGE)/)"
	@echo "  Admin:        http://$(HOST)/admin/  (admin / hitrate-admin)"
	@echo "  Viewers:      alice, bob, chen  (password hitrate-viewer)"
	@echo
	@trap '$(LOCAL) $(BIN)/python manage.py edge stop' EXIT; trap 'exit 130' INT TERM; \
		$(LOCAL) $(BIN)/python manage.py runserver --nostatic $(HOST)

# Stops the edge that `make run` started (Ctrl-C does it too).
edge-stop: $(INSTALLED)
	@$(LOCAL) $(BIN)/python manage.py edge stop

test: lint suite

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

suite: $(INSTALLED)
	$(BIN)/python -m pytest

$(INSTALLED): requirements/runtime.txt requirements/dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "HitRate needs Python 3.11 or newer; set PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-r requirements/dev.txt
	@touch $@

# Re-resolve the pins from pyproject.toml in a scratch environment.
lock:
	rm -rf build/lock && $(PYTHON) -m venv build/lock
	build/lock/bin/pip install --quiet --disable-pip-version-check .
	build/lock/bin/pip freeze --exclude hitrate > requirements/runtime.txt
	build/lock/bin/pip install --quiet --disable-pip-version-check ".[dev]"
	{ echo "-r runtime.txt"; build/lock/bin/pip freeze --exclude hitrate \
		| grep -vxFf requirements/runtime.txt; } > requirements/dev.txt
	rm -rf build/lock

clean:
	rm -rf $(VENV) var build

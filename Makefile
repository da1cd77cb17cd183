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

.PHONY: run run-s3 edge-stop test lint suite lock clean

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

# The same site with media and static files in S3, played by a local moto
# server on :9000 that keeps nothing: every run starts from empty buckets and
# a fresh database under var/s3/.
S3_PORT := 9000
S3_LOCAL := $(LOCAL) HITRATE_DATA_DIR=var/s3 HITRATE_MEDIA_STORAGE=s3 \
	AWS_S3_ENDPOINT_URL=http://127.0.0.1:$(S3_PORT) AWS_DEFAULT_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \
	HITRATE_VIDEO_BUCKET=hitrate-videos HITRATE_IMAGE_BUCKET=hitrate-images \
	HITRATE_STATIC_BUCKET=hitrate-static

run-s3: $(INSTALLED)
	@rm -rf var/s3 && mkdir -p var/s3
	@MOTO_DISABLE_GLOBAL_CORS=true $(BIN)/moto_server -H 127.0.0.1 -p $(S3_PORT) \
		> var/s3/moto.log 2>&1 & echo $$! > var/s3/moto.pid
	@trap 'kill $$(cat var/s3/moto.pid) 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	$(S3_LOCAL) $(BIN)/python manage.py migrate --noinput -v0 && \
	$(S3_LOCAL) $(BIN)/python manage.py s3setup --wait 10 --public-read \
		--cors-origin http://$(HOST) --cors-origin http://localhost:8000 && \
	echo "  Collecting static files into S3 (about half a minute against moto)" && \
	$(S3_LOCAL) $(BIN)/python manage.py collectstatic --noinput -v0 && \
	$(S3_LOCAL) $(BIN)/python manage.py loaddemo && \
	$(S3_LOCAL) $(BIN)/python manage.py refreshrecommendations && \
	echo && \
	echo "  HitRate, media in S3: http://$(HOST)/  (moto on :$(S3_PORT))" && \
	echo "  Admin: http://$(HOST)/admin/  (admin / hitrate-admin)" && \
	echo "  Uploads go from the browser straight to the moto bucket." && \
	echo && \
	$(S3_LOCAL) $(BIN)/python manage.py runserver --nostatic $(HOST)

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

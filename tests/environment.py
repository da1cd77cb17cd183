"""The environment the suite runs in, set before Django reads its settings.

Loaded as a pytest plugin (``-p tests.environment`` in pyproject.toml), which
pytest imports before pytest-django configures Django.
"""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key")
os.environ.setdefault("HITRATE_STRICT_POLICIES", "true")
if "HITRATE_DATA_DIR" not in os.environ:
    data_dir = tempfile.mkdtemp(prefix="hitrate-tests-")
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    os.environ["HITRATE_DATA_DIR"] = data_dir
# moto's server otherwise answers every request with permissive CORS headers,
# hiding whether the buckets' own CORS rules work. Read at moto's import.
os.environ.setdefault("MOTO_DISABLE_GLOBAL_CORS", "true")

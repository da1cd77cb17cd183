"""Running nginx as the edge, unprivileged, from a folder of the project.

The folder holds everything nginx writes: ``conf/``, ``logs/`` (the access
log, the error log and the pid file), ``temp/`` and ``cache/``. nginx runs
as ``nginx -p FOLDER -c conf/nginx.conf`` and stops with ``-s quit``.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from edge import config

MISSING = (
    "nginx is not installed: apt-get install nginx (Debian) or brew install "
    "nginx; the site still runs on :8000 without the edge."
)
NO_AGE = (
    "The edge runs without Age headers: they need nginx's njs module "
    "(apt-get install libnginx-mod-http-js on Debian)."
)
NJS_MODULE = "ngx_http_js_module.so"
# Debian keeps nginx in /usr/sbin, which an unprivileged PATH may lack.
SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"]
)


class EdgeError(Exception):
    pass


def nginx_binary() -> str | None:
    return shutil.which("nginx", path=SEARCH_PATH)


def njs_module(nginx: str) -> Path | None:
    """nginx's njs module, if installed where this nginx loads modules from."""
    built = subprocess.run([nginx, "-V"], capture_output=True, text=True).stderr
    found = re.search(r"--modules-path=(\S+)", built)
    folders = [Path(found.group(1))] if found else []
    folders.append(Path("/usr/lib/nginx/modules"))
    for folder in folders:
        if (folder / NJS_MODULE).is_file():
            return folder / NJS_MODULE
    return None


@dataclass
class Edge:
    folder: Path
    listen: str = config.DEFAULT_LISTEN
    origin: str = config.DEFAULT_ORIGIN
    lab_ttl: int | None = None

    def __post_init__(self) -> None:
        self.folder = Path(self.folder).resolve()

    @property
    def url(self) -> str:
        return f"http://{self.listen}"

    @property
    def pid_file(self) -> Path:
        return self.folder / "logs" / "nginx.pid"

    @property
    def access_log(self) -> Path:
        return self.folder / "logs" / "access.log"

    def nginx(self) -> str:
        found = nginx_binary()
        if found is None:
            raise EdgeError(MISSING)
        return found

    def has_age(self) -> bool:
        return njs_module(self.nginx()) is not None

    def config(self) -> str:
        nginx = nginx_binary()
        return config.render(
            listen=self.listen,
            origin=self.origin,
            lab_ttl=self.lab_ttl,
            njs_module=njs_module(nginx) if nginx else None,
            user=getpass.getuser() if os.geteuid() == 0 else None,
        )

    def write(self) -> Path:
        """Write the configuration and make every folder nginx writes to."""
        text = self.config()
        for name in ("conf", "logs", "cache", *config.TEMP_PATHS.values()):
            (self.folder / name).mkdir(parents=True, exist_ok=True)
        script = Path(__file__).with_name(config.AGE_SCRIPT)
        shutil.copyfile(script, self.folder / "conf" / config.AGE_SCRIPT)
        conf = self.folder / "conf" / "nginx.conf"
        conf.write_text(text)
        return conf

    def check(self) -> None:
        """Have nginx test the written configuration (``nginx -t``)."""
        self._run("-t")

    def start(self) -> None:
        """Start nginx, or reload it with a fresh configuration if running."""
        self.write()
        if self.pid() is not None:
            self._run("-s", "reload")
            return
        # The master binds the port before it detaches, so the edge answers
        # as soon as this returns.
        self._run()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop nginx gracefully; False if it was not running."""
        if self.pid() is None:
            return False
        self._run("-s", "quit")
        # nginx removes its pid file as the master exits.
        deadline = time.monotonic() + timeout
        while self.pid_file.exists():
            if time.monotonic() > deadline:
                raise EdgeError(f"nginx did not stop within {timeout:.0f} s.")
            time.sleep(0.02)
        return True

    def pid(self) -> int | None:
        """The master's pid, if it is running."""
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None
        return pid

    def _run(self, *args: str) -> None:
        command = [self.nginx(), "-p", str(self.folder), "-c", "conf/nginx.conf"]
        done = subprocess.run([*command, *args], capture_output=True, text=True)
        if done.returncode != 0:
            raise EdgeError(done.stderr.strip() or f"nginx exited {done.returncode}")

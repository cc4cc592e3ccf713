"""What operators install: the systemd unit (the file in deploy/ is the one in the docs,
hardened, and waits longer than the shutdown grace), and the container's entrypoint, run as a
non-root user on a read-only copy of the code (no Docker daemon runs in CI)."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from kurse.config import Settings
from kurse.migrate import newest_revision, schema_state
from tests.test_end_to_end import TOKEN, free_port
from tests.test_end_to_end import telegram as telegram  # the fake Bot API fixture

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "deploy" / "kursbot@.service"
DEPLOYMENT = ROOT / "docs" / "deployment.md"
TEST_USER = "kursbot-entrypoint-test"
READ_ANYWHERE = ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]


def documented_unit() -> str:
    """The ini block under docs/deployment.md's systemd heading."""
    text = DEPLOYMENT.read_text()
    after = text.split("### systemd (`/etc/systemd/system/kursbot@.service`)", 1)[1]
    return after.split("```ini\n", 1)[1].split("```", 1)[0]


def directives(unit: str) -> dict[str, list[str]]:
    """Each directive's values, in order (continued lines joined)."""
    found: dict[str, list[str]] = {}
    for line in unit.replace("\\\n", " ").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)\s*(s|sec|min)?", value)
    assert match, value
    return int(match.group(1)) * (60 if match.group(2) == "min" else 1)


def test_the_systemd_unit_in_the_docs_is_the_file_in_deploy():
    assert documented_unit() == UNIT.read_text()


def test_systemd_and_compose_wait_longer_than_the_shutdown_grace_before_they_kill():
    grace = Settings(_env_file=None).kursbot_shutdown_grace
    unit = directives(UNIT.read_text())
    compose = re.search(r"stop_grace_period: (\d+)s", (ROOT / "deploy/compose.yaml").read_text())

    # The grace, then PTB's own shutdown (its HTTP timeouts; tests/test_shutdown.py: < 8 s).
    assert seconds(unit["TimeoutStopSec"][0]) >= grace + 10
    assert compose is not None
    assert int(compose.group(1)) >= grace + 10


def test_the_systemd_unit_leaves_code_and_env_read_only_and_only_the_data_folder_writable():
    unit = directives(UNIT.read_text())

    assert unit["ProtectSystem"] == ["strict"]  # /opt (code, venv, .env) read-only
    assert "ReadWritePaths" not in unit  # the old unit had ReadWritePaths=/opt/kursbot
    assert unit["StateDirectory"] == ["kursbot"]  # /var/lib/kursbot: the one writable folder
    assert unit["UMask"] == ["0027"]
    assert unit["NoNewPrivileges"] == ["yes"]
    assert unit["CapabilityBoundingSet"] == [""]
    assert unit["RestrictAddressFamilies"] == ["AF_INET AF_INET6 AF_UNIX"]


def test_the_systemd_unit_gives_matplotlib_a_cache_folder_it_may_write():
    unit = directives(UNIT.read_text())

    # ProtectHome= and PrivateTmp= leave matplotlib no writable home: without a folder of
    # its own it would build its font cache anew in a fresh /tmp on every start.
    assert unit["CacheDirectory"] == ["kursbot"]  # %C/kursbot: /var/cache/kursbot, writable
    assert "MPLCONFIGDIR=%C/kursbot/matplotlib" in unit["Environment"]
    assert unit["ProtectHome"] == ["yes"]


def test_the_image_keeps_matplotlibs_cache_apart_from_the_data_and_compose_keeps_it_writable():
    dockerfile = (ROOT / "Dockerfile").read_text()
    compose = (ROOT / "deploy/compose.yaml").read_text()

    assert re.search(r"^\s+MPLCONFIGDIR=/var/cache/kursbot/matplotlib$", dockerfile, re.M)
    assert re.search(
        r"install -d -o kursbot -g kursbot -m 0750 .*/var/cache/kursbot$", dockerfile, re.M
    )
    assert "- kursbot-cache:/var/cache/kursbot" in compose
    assert re.search(r"^  kursbot-cache:$", compose, re.M)
    assert "read_only: true" in compose  # the reason the cache needs a volume


def test_matplotlib_writes_its_font_cache_where_mplconfigdir_says_with_no_home(tmp_path):
    cache = tmp_path / "cache" / "matplotlib"  # not there yet: matplotlib makes it
    env = {**os.environ, "MPLCONFIGDIR": str(cache), "HOME": "/nonexistent"}
    env.pop("XDG_CACHE_HOME", None)
    env.pop("XDG_CONFIG_HOME", None)
    script = "import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot"

    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "is not a writable directory" not in result.stderr
    assert [p.name.startswith("fontlist-") for p in cache.iterdir()] == [True]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_analyze_rates_the_unit_ok(tmp_path):
    shutil.copy(UNIT, tmp_path / UNIT.name)

    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--threshold=20", UNIT.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    rating = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", result.stdout)
    assert rating is not None, result.stdout + result.stderr
    assert result.returncode == 0, rating.group(0)  # at most 2.0 of 10 (the old unit: 8.8)


def test_the_dockerfile_runs_the_entrypoint_as_a_non_root_user_with_a_data_volume():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "FROM python:3.11-slim" in dockerfile
    assert re.search(r"^USER kursbot", dockerfile, re.M)
    assert re.search(r"^VOLUME /var/lib/kursbot$", dockerfile, re.M)
    assert "COPY deploy/entrypoint.sh /usr/local/bin/kursbot-entrypoint" in dockerfile
    assert re.search(r'^ENTRYPOINT \["kursbot-entrypoint"\]$', dockerfile, re.M)
    assert re.search(r"^HEALTHCHECK .*\n.*127\.0\.0\.1:8081/livez", dockerfile, re.M)
    assert '"--health-port", "8081"' in dockerfile


# The entrypoint, as the image runs it: as a user that is not root, on code it cannot
# write, with its data in a folder of its own, `kursbot` found on PATH.


@dataclass
class ReadOnlyInstall:
    """A copy of the code nobody may write, and how to run a command as the non-root user."""

    code: Path
    data: Path
    as_user: list[str]  # prefix of a command line
    uid: int

    def env(self, **extra: str) -> dict[str, str]:
        """The container's environment: `kursbot` on PATH, the code from the copy."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KURSBOT_", "TELEGRAM_"))}
        env.update(
            PATH=f"{Path(sys.executable).parent}:/usr/bin:/bin",
            PYTHONPATH=str(self.code),
            PYTHONDONTWRITEBYTECODE="1",
            KURSBOT_DATABASE_URL=f"sqlite:///{self.data / 'kursbot.db'}",
            **extra,
        )
        return env

    def probe(self) -> subprocess.CompletedProcess[str]:
        """Where the user's Python finds `kurse` (the copy, not the checkout), and whether
        the venv's `kursbot` runs for them."""
        script = 'python -c "import kurse; print(kurse.__file__)" && kursbot -h >/dev/null'
        script += " && echo ok"
        return subprocess.run(
            [*self.as_user, "sh", "-c", script],
            cwd=self.code,
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
        )

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        """Starts deploy/entrypoint.sh of the copy with ``args``, in a session of its own."""
        return subprocess.Popen(
            [*self.as_user, str(self.code / "deploy" / "entrypoint.sh"), *args],
            cwd=self.code,
            env=self.env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )


def non_root_user() -> Iterator[tuple[list[str], int, int]]:
    """(command prefix, uid, gid) of a user that is not root: this one, or one made here."""
    if os.geteuid() != 0:
        yield [], os.getuid(), os.getgid()
        return
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("running as root without setpriv (util-linux): cannot drop to a user")
    created = False
    try:
        user = pwd.getpwnam(TEST_USER)
    except KeyError:
        made = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
            capture_output=True,
            text=True,
            check=False,
        )
        if made.returncode != 0:
            pytest.fail(f"cannot create the non-root user {TEST_USER}: {made.stderr.strip()}")
        created, user = True, pwd.getpwnam(TEST_USER)
    try:
        yield (
            [setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"],
            user.pw_uid,
            user.pw_gid,
        )
    finally:
        if created:
            subprocess.run(["userdel", TEST_USER], capture_output=True, check=False)


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture
def read_only_install() -> Iterator[ReadOnlyInstall]:
    users = non_root_user()
    as_user, uid, gid = next(users)
    top = Path(tempfile.mkdtemp(prefix="kursbot-ro-"))
    try:
        top.chmod(0o755)  # the user must reach the copy (pytest's tmp_path is root's only)
        code, data = top / "code", top / "data"
        shutil.copytree(
            ROOT,
            code,
            ignore=shutil.ignore_patterns(
                ".git", ".venv", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "*.db*"
            ),
        )
        for path in [code, *code.rglob("*")]:  # chmod -R a-w
            if not path.is_symlink():
                path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o222)
        data.mkdir(mode=0o700)
        if os.geteuid() == 0:
            os.chown(data, uid, gid)
        install = ReadOnlyInstall(code, data, as_user, uid)
        probe = install.probe()
        if probe.returncode != 0 and as_user:
            # The venv's interpreter may live where only root may go (here: pyenv in /root,
            # mode 700). Then the user may read anywhere, CAP_DAC_READ_SEARCH, and nothing
            # more: what it may write is still only what its uid may write.
            install.as_user = [*as_user, *READ_ANYWHERE]
            probe = install.probe()
        if probe.returncode != 0:
            pytest.fail(f"the user {uid} cannot run kursbot from the venv: {probe.stderr[-500:]}")
        assert probe.stdout.split() == [str(code / "kurse" / "__init__.py"), "ok"]
        yield install
    finally:
        for path in [top, *top.rglob("*")]:
            if not path.is_symlink():
                path.chmod(stat.S_IMODE(path.stat().st_mode) | 0o700)
        shutil.rmtree(top)
        next(users, None)


def test_the_entrypoint_upgrades_the_database_then_becomes_kursbot_run_as_a_non_root_user(
    read_only_install,
):
    before = files_under(read_only_install.code)

    process = read_only_install.start()  # no token: `run` stops at once, in one line
    output = process.communicate(timeout=120)[0]

    database = read_only_install.data / "kursbot.db"
    engine = create_engine(f"sqlite:///{database}")
    state = schema_state(engine)
    engine.dispose()
    assert process.returncode == 2, output
    assert output.strip().splitlines()[-1].startswith("TELEGRAM_BOT_TOKEN is not set"), output
    assert state.current == newest_revision()
    assert database.stat().st_uid == read_only_install.uid != 0
    assert files_under(read_only_install.code) == before  # nothing written into the code


def test_the_entrypoint_hands_its_arguments_and_sigterm_to_kursbot_run(
    read_only_install, telegram
):
    port = free_port()
    process = read_only_install.start(
        "--health-port",
        str(port),
        TELEGRAM_BOT_TOKEN=TOKEN,
        KURSBOT_TELEGRAM_API_URL=f"http://127.0.0.1:{telegram.server_address[1]}",
        KURSBOT_SHUTDOWN_GRACE="2",
    )
    try:
        deadline, healthy = time.monotonic() + 90, False
        while not healthy and time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    healthy = r.status == 200
            except OSError:
                time.sleep(0.2)

        process.send_signal(signal.SIGTERM)  # what `docker stop` sends to PID 1
        process.wait(timeout=60)
    finally:
        # Without `exec` the shell dies of the signal and the bot runs on: end it too.
        with contextlib.suppress(ProcessLookupError):  # nothing of ours left: as it should be
            os.killpg(process.pid, signal.SIGKILL)
        output = process.communicate(timeout=30)[0]

    assert healthy, output  # --health-port reached `kursbot run`
    assert process.returncode == 0, output  # the bot itself got SIGTERM and stopped cleanly

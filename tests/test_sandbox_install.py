"""The sandbox servers' install: a meter that moves with what pip really does, and a
failure that shows pip's last lines and where its log is. Real pip, offline: it installs
tiny wheels this test writes (``--no-index``), so nothing is downloaded."""

from __future__ import annotations

import base64
import hashlib
import io
import venv
import zipfile
from pathlib import Path

import pytest

from glint_tui.commands.sandbox import ProgressPrinter
from glint_tui.sandbox.pipinstall import InstallError, Step, pip_install


def _wheel(folder: Path, name: str, requires: tuple[str, ...] = ()) -> None:
    """A minimal pure-Python wheel: one module, its METADATA, WHEEL and RECORD."""
    info = f"{name}-1.0.dist-info"
    files = {
        f"{name}.py": b"VALUE = 1\n",
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
            + "".join(f"Requires-Dist: {r}\n" for r in requires)
        ).encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = io.StringIO()
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.write(f"{path},sha256={digest},{len(data)}\n")
    record.write(f"{info}/RECORD,,\n")
    with zipfile.ZipFile(folder / f"{name}-1.0-py3-none-any.whl", "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
        z.writestr(f"{info}/RECORD", record.getvalue())


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("venv") / "v"
    venv.EnvBuilder(with_pip=True).create(path)
    return path


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    _wheel(folder, "glintprobe_a", ("glintprobe_b", "glintprobe_c"))
    _wheel(folder, "glintprobe_b", ("glintprobe_c",))
    _wheel(folder, "glintprobe_c")
    return folder


def test_the_install_meter_counts_what_pip_fetches_then_installs(fresh_venv, wheels, tmp_path):
    steps: list[Step] = []
    count = pip_install(
        fresh_venv,
        ("glintprobe_a",),
        log=tmp_path / "pip.log",
        expected=10,
        meter=steps.append,
        extra_args=("--no-index", "--find-links", str(wheels)),
    )
    assert count == 3
    fetching = [s for s in steps if s.phase == "fetching"]
    installing = [s for s in steps if s.phase == "installing"]
    # the fetch phase counts each package pip resolved, against the estimate (not exact)
    assert sorted({s.done for s in fetching}) == [1, 2, 3]
    assert {s.current for s in fetching} == {"glintprobe_a", "glintprobe_b", "glintprobe_c"}
    assert not any(s.exact for s in fetching) and fetching[0].total == 10
    # then the exact count pip names, ending with all of them installed
    assert installing and all(s.exact and s.total == 3 for s in installing)
    assert installing[-1].done == 3
    fractions = [s.fraction for s in steps]
    assert fractions == sorted(fractions), "the meter never goes backwards"
    assert "3/3 packages installed" in installing[-1].line()
    assert "glintprobe_a" in (tmp_path / "pip.log").read_text(), "pip's own output is logged"


def test_a_failed_install_shows_pips_last_lines_and_the_log(fresh_venv, wheels, tmp_path):
    log = tmp_path / "pip.log"
    with pytest.raises(InstallError) as raised:
        pip_install(
            fresh_venv,
            ("glintprobe_missing==9",),
            log=log,
            expected=10,
            meter=lambda step: None,
            extra_args=("--no-index", "--find-links", str(wheels)),
        )
    message = str(raised.value)
    assert "glintprobe_missing" in message and "No matching distribution" in message
    assert message.rstrip().endswith(f"full log: {log}")
    assert log.exists()


def test_the_meter_is_one_line_redrawn_on_a_terminal_and_plain_lines_elsewhere():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    out = ProgressPrinter(tty)
    assert out.meter is not None
    out.meter(Step("fetching", 5, 130, False, "oslo.config", 10.0, None))
    out.meter(Step("fetching", 6, 130, False, "oslo.log", 11.0, 80.0))
    out.line("sandbox servers installed")
    text = tty.getvalue()
    assert text.count("\n") == 1, "meter updates overwrite one line"
    assert "\r\x1b[K" in text and "6/~130 packages fetched (oslo.log)" in text
    assert "about 80 s left" in text
    assert ProgressPrinter(io.StringIO()).meter is None  # a log file gets plain lines


def test_lines_printed_from_several_threads_come_out_whole_one_per_line():
    """What ``glint sandbox up`` does: each cloud's thread prints its line when it is up.
    The stream yields the GIL inside every write, as a pipe or a slow terminal does, so
    a line written in pieces would be cut by another thread's."""
    import threading
    import time

    class Yielding(io.StringIO):
        def write(self, s: str) -> int:
            time.sleep(0.0005)
            return super().write(s)

    stream = Yielding()
    out = ProgressPrinter(stream)
    threads, lines = 6, 30
    start = threading.Barrier(threads)

    def cloud(n: int) -> None:
        start.wait()
        for i in range(lines):
            out.line(f"c{n}: Keystone http://127.0.0.1:{25000 + n}  line {i}")

    workers = [threading.Thread(target=cloud, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    got = stream.getvalue().splitlines()
    want = [
        f"c{n}: Keystone http://127.0.0.1:{25000 + n}  line {i}"
        for n in range(threads)
        for i in range(lines)
    ]
    assert sorted(got) == sorted(want)

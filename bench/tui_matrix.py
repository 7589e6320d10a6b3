"""Benchmark the matrix screen: 2000 images × 30 columns, no network.

Measures, on the headless Textual driver (the same rendering work as a terminal, minus
the tty write):

* first paint  — from starting the app to the first frame that shows the matrix rows;
* toggle       — from posting the ``space`` key to the frame that shows the new glyph;
* frame delay  — while 10 copies stream fake progress (20 events/s each, 5× the
                 engine's 4/s, through the same message path the engine uses), the
                 worst lateness of a 10 ms heartbeat on the event loop, and the worst
                 gap between frames. ``whole_run_*`` also covers starting the run
                 (mounting the transfer bars) and the refresh after it.

Targets (issue 4): first paint ≤ 1 s, toggle ≤ 50 ms, frame delay ≤ 100 ms.
Run: ``.venv/bin/python bench/tui_matrix.py`` (prints the numbers; exit 1 if a target is
missed).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import events  # noqa: E402

from glint_tui.core.events import ActionFinished, CellChanged, CopyProgress, RunFinished  # noqa: E402
from glint_tui.core.model import CellState  # noqa: E402
from glint_tui.core.plan import Plan  # noqa: E402
from glint_tui.ui.app import GlintApp  # noqa: E402
from glint_tui.ui.backend import StaticBackend  # noqa: E402
from glint_tui.ui.sample_data import FIXED_NOW, big_matrix  # noqa: E402
from glint_tui.ui.screens.matrix import MatrixScreen  # noqa: E402

TARGETS = {"first_paint_s": 1.0, "toggle_ms": 50.0, "frame_delay_ms": 100.0}


class FakeProgressBackend(StaticBackend):
    """Streams made-up progress for every copy of a plan (benchmark only: no clouds)."""

    def __init__(self, matrix, seconds: float = 3.0, hz: float = 20.0) -> None:
        super().__init__(matrix)
        self.seconds, self.hz = seconds, hz

    def run_plan(self, plan: Plan, cancel: threading.Event, on_event) -> int:
        for c in plan.copies:
            for t in c.targets:
                on_event(CellChanged(c.id, t.ref, CellState.TRANSFERRING))
        steps = int(self.seconds * self.hz)
        self.window = [time.perf_counter(), 0.0]
        for step in range(1, steps + 1):
            if cancel.wait(1 / self.hz):
                break
            for c in plan.copies:
                done = c.size * step // steps
                per = {str(t.ref): done for t in c.targets}
                on_event(CopyProgress(c.id, c.name, done, c.size, 50e6, 1.0, per))
        self.window[1] = time.perf_counter()
        for c in plan.copies:
            for t in c.targets:
                on_event(CellChanged(c.id, t.ref, CellState.PRESENT))
            on_event(ActionFinished(c.id, "copy", c.name, True))
        on_event(RunFinished("bench", len(plan.copies), 0, cancel.is_set(), 0))
        return 0


class Frames:
    """Timestamps of frames handed to the terminal driver."""

    def __init__(self, app: GlintApp) -> None:
        self.times: list[float] = []
        original = app._display

        def display(screen, renderable):  # type: ignore[no-untyped-def]
            original(screen, renderable)
            self.times.append(time.perf_counter())

        app._display = display  # type: ignore[method-assign]

    async def next_after(self, t0: float, timeout: float = 5.0) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            later = [t for t in self.times if t > t0]
            if later:
                return later[0]
            await asyncio.sleep(0.001)
        raise TimeoutError("no frame")


async def measure() -> dict[str, float]:
    t_build = time.perf_counter()
    matrix = big_matrix(2000, repositories=10, projects=3)
    build_s = time.perf_counter() - t_build
    assert len(matrix.rows) == 2000 and len(matrix.columns) == 30
    app = GlintApp(FakeProgressBackend(matrix), now=lambda: FIXED_NOW, refresh_interval=None)
    frames = Frames(app)
    results: dict[str, float] = {"inventory_build_s": build_s}
    t0 = time.perf_counter()
    async with app.run_test(size=(160, 48)) as pilot:
        # first paint: the first frame after the matrix screen holds the rows
        while not (isinstance(app.screen, MatrixScreen) and app.screen.model.rows):
            await asyncio.sleep(0.001)
        t_loaded = time.perf_counter()
        t_paint = await frames.next_after(t_loaded)
        results["first_paint_s"] = t_paint - t0
        await pilot.pause(0.2)

        screen = app.screen
        assert isinstance(screen, MatrixScreen)
        view = screen.view
        # toggle latency: key posted -> frame showing it (cells spread over the grid)
        lat = []
        for i in range(30):
            r, c = i * 37 % 40, i % 30
            # a locked cell refuses the toggle (nothing to measure): take the next row
            while screen.model.rows[r].cell(screen.model.columns[c]).state is CellState.LOCKED:
                r += 1
            view.set_cursor(r, c)
            await pilot.pause(0.03)
            before = screen.model.pending
            t = time.perf_counter()
            app.post_message(events.Key("space", " "))
            while screen.model.pending == before:
                await asyncio.sleep(0)
            frame = await frames.next_after(t)
            lat.append((frame - t) * 1000)
        results["toggle_ms"] = max(lat)
        results["toggle_median_ms"] = statistics.median(lat)
        screen.model.desired.cells.clear()
        view.refresh()

        # 10 copies (one per row, to a column where the image is absent)
        row_i = 0
        picked = 0
        while picked < 10:
            row = screen.model.rows[row_i]
            ref = next((c for c in screen.model.columns if not row.cell(c).present), None)
            if ref is not None and row.holders():
                screen.model.toggle(row, ref)
                picked += 1
            row_i += 1
        plan = screen.backend.make_plan(screen.model.matrix, screen.model.desired)
        assert len(plan.copies) == 10, plan.summary()
        view.set_cursor(0, 0)
        await pilot.pause(0.1)

        lateness: list[float] = []
        stop = asyncio.Event()

        beats: list[float] = []

        async def heartbeat() -> None:
            period = 0.01
            nxt = time.perf_counter() + period
            while not stop.is_set():
                await asyncio.sleep(max(0.0, nxt - time.perf_counter()))
                now = time.perf_counter()
                lateness.append((now - nxt) * 1000)
                beats.append(now)
                nxt = now + period

        beat = asyncio.create_task(heartbeat())
        n_frames = len(frames.times)
        t_run = time.perf_counter()
        screen.start_run(plan)
        while screen.model.running:
            await asyncio.sleep(0.01)
        t_end = time.perf_counter()
        stop.set()
        await beat
        w0, w1 = screen.backend.window
        streaming = [late for late, t in zip(lateness, beats, strict=True) if w0 <= t <= w1]
        run_frames = [t for t in frames.times[n_frames:] if w0 <= t <= w1]
        gaps = [(b - a) * 1000 for a, b in zip(run_frames, run_frames[1:], strict=False)]
        results["frame_delay_ms"] = max(streaming)
        results["heartbeat_p99_ms"] = sorted(streaming)[int(len(streaming) * 0.99)]
        results["worst_frame_gap_ms"] = max(gaps) if gaps else float("nan")
        results["frames_while_streaming"] = len(run_frames)
        results["streaming_s"] = w1 - w0
        results["whole_run_worst_delay_ms"] = max(lateness)
        results["whole_run_s"] = t_end - t_run
    return results


def main() -> int:
    results = asyncio.run(measure())
    print("glint TUI matrix benchmark: 2000 images x 30 columns (headless, 160x48)")
    for key, value in results.items():
        target = TARGETS.get(key)
        mark = ""
        if target is not None:
            mark = f"   target <= {target:g}  {'OK' if value <= target else 'MISSED'}"
        print(f"  {key:22} {value:10.3f}{mark}")
    missed = [k for k, t in TARGETS.items() if results[k] > t]
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())

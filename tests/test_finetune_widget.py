"""The live view of a fine-tuning run (issue 6), without training anything: run folders are
written by hand (spec, events.jsonl, a pid file), then read by the widget as a trainer's would be.

The browser test renders the real bundle in Debian's Chromium with the state folded here;
its screenshots land in tests/artifacts/ (ignored by git) for a person to look at.
"""

from __future__ import annotations

import functools
import http.server
import math
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tokenlens.finetune.events import EventWriter
from tokenlens.finetune.launcher import Run
from tokenlens.finetune.spec import RunDir, RunSpec
from tokenlens.views.finetune import FinetuneWidget, loss_svg, summary_html, thin

from ._harness import ARTIFACTS, CHROMIUM, FLAGS, SKIP_REASON, QuietHandler, have_chromium
from ._run_lock import StandIn
from .conftest import ROOT

HASH = "9f2c4a7e1b3d5f60718293a4b5c6d7e8"
LOSSES = [4.2, 3.6, 3.1, 2.8]


def finished_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.fixture
def sleeper():
    """A live process standing in for the trainer: it holds the run's lock, as a trainer does,
    until `end` ends (and reaps) it."""
    stand_in = StandIn()
    yield stand_in
    stand_in.end()


def make_run(tmp_path: Path, trainer, ended: bool = True, name: str = "demo") -> tuple[RunDir, EventWriter]:
    """A run folder as a trainer writes it; ``trainer`` is the PID of a finished process, or a
    stand-in (``sleeper``) that then holds the run's lock."""
    rd = RunDir(tmp_path / name)
    rd.write_spec(RunSpec(name=name, data=["train.txt"], model="distilgpt2", max_steps=4, sample_prompt="Hello"))
    rd.command_file.write_text(f"python -m tokenlens.finetune.trainer {rd.path}\n")
    w = EventWriter(rd.events_file)
    w.write("start", max_steps=4, model="distilgpt2", tokenizer_hash=HASH, params=81_912_576)
    w.write("status", status="running", step=0)
    for step, loss in enumerate(LOSSES[:2], 1):
        w.write(
            "log",
            step=step,
            epoch=step / 4,
            loss=loss,
            lr=5e-5 * (1 - step / 4),
            grad_norm=1.5 / step,
            tokens_per_s=1234.5,
            gpu_mem_gb=None,
        )
    w.write("eval", step=2, eval_loss=3.3)
    w.write("sample", step=2, prompt="Hello", text=" world, said the model")
    ckpt = rd.checkpoints / "checkpoint-2"
    ckpt.mkdir(parents=True)
    (ckpt / "COMPLETE").write_text("1")
    w.write("checkpoint", step=2, path=str(ckpt), reason="steps")
    if ended:
        finish(rd, w)
    pid = trainer if isinstance(trainer, int) else trainer.hold(rd.lock_file).pid
    rd.pid_file.write_text(str(pid))
    return rd, w


def finish(rd: RunDir, w: EventWriter, after: str = HASH) -> None:
    for step, loss in enumerate(LOSSES[2:], 3):
        w.write("log", step=step, epoch=step / 4, loss=loss, lr=1e-5, grad_norm=0.5, tokens_per_s=1500.0)
    w.write("eval", step=4, eval_loss=2.9)
    w.write("sample", step=4, prompt="Hello", text=" world, and good night")
    rd.final.mkdir(exist_ok=True)
    w.write("end", status="completed", step=4, final=str(rd.final), tokenizer_hash_after=after)


def wait_for(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def fast(monkeypatch):
    monkeypatch.setattr(FinetuneWidget, "poll_interval", 0.02)


def acks(widget, monkeypatch) -> list:
    sent = []
    monkeypatch.setattr(widget, "send", lambda content, buffers=None: sent.append(content))
    return sent


# -- the folded state ----------------------------------------------------------------------


def test_finished_run_is_folded_and_not_polled(tmp_path):
    rd, _ = make_run(tmp_path, finished_pid())
    w = FinetuneWidget.for_run(Run(RunDir(rd.path)))
    s = w.state
    assert (w.name, w.run_dir) == ("demo", str(rd.path))
    assert w.command.startswith("python -m tokenlens.finetune.trainer")
    assert s["status"] == "completed" and s["step"] == 4 and s["max_steps"] == 4
    assert s["loss_history"] == [[i, v] for i, v in enumerate(LOSSES, 1)]
    assert s["eval_history"] == [[2, 3.3], [4, 2.9]]
    assert s["loss"] == LOSSES[-1] and math.isclose(s["perplexity"], math.exp(LOSSES[-1]))
    assert math.isclose(s["eval_perplexity"], math.exp(2.9))
    assert s["last_checkpoint"]["step"] == 2 and s["last_checkpoint"]["reason"] == "steps"
    assert s["samples"][-1] == {"step": 4, "prompt": "Hello", "text": " world, and good night"}
    assert s["tokenizer_hash"] == s["tokenizer_hash_after"] == HASH
    assert s["final"] == str(rd.final)
    assert w._thread is None  # nothing more will come: no poller
    w.close()


def test_appended_events_reach_state_and_poller_stops_at_the_end(tmp_path, sleeper, fast):
    rd, writer = make_run(tmp_path, sleeper, ended=False)
    w = FinetuneWidget.for_run(Run(rd))
    try:
        assert w.state["status"] == "running" and w.state["step"] == 2
        assert w.state["final"] is None and w.state["tokenizer_hash_after"] is None
        assert w._thread is not None and w._thread.is_alive()

        writer.write("log", step=3, epoch=0.75, loss=LOSSES[2], lr=1e-5, grad_norm=0.7, tokens_per_s=1400.0)
        assert wait_for(lambda: w.state["step"] == 3)
        assert w.state["loss_history"][-1] == [3, LOSSES[2]]
        assert math.isclose(w.state["perplexity"], math.exp(LOSSES[2]))

        # the end event alone does not stop the poller while the process still runs ...
        finish(rd, writer)
        assert wait_for(lambda: w.state["status"] == "completed")
        time.sleep(0.1)
        assert w._thread.is_alive()
        # ... its exit does
        sleeper.end()
        assert wait_for(lambda: not w._thread.is_alive())
        assert w.state["final"] == str(rd.final) and w.error == ""
    finally:
        w.close()


def test_the_view_reads_with_its_own_handle(tmp_path, sleeper, fast):
    rd, writer = make_run(tmp_path, sleeper, ended=False)
    run = Run(rd)
    w = FinetuneWidget.for_run(run)
    try:
        assert w.run is not run and w.run.dir.path == run.dir.path
        writer.write("log", step=3, epoch=0.75, loss=LOSSES[2], lr=1e-5, grad_norm=0.7, tokens_per_s=1400.0)
        for _ in range(20):  # a cell polling at the same time folds nothing twice
            run.poll()
        assert wait_for(lambda: w.state["step"] == 3)
        assert [p[0] for p in w.state["loss_history"]] == [1, 2, 3]
        assert [p[0] for p in run.poll().to_dict()["loss_history"]] == [1, 2, 3]
    finally:
        w.close()


def test_closing_the_widget_stops_the_poller(tmp_path, sleeper, fast):
    rd, _ = make_run(tmp_path, sleeper, ended=False)
    w = FinetuneWidget.for_run(Run(rd))
    thread = w._thread
    assert thread.is_alive()
    w.close()
    assert wait_for(lambda: not thread.is_alive())


def test_trainer_gone_without_a_final_event_reads_killed_and_resumable(tmp_path, sleeper, fast):
    rd, _ = make_run(tmp_path, sleeper, ended=False)
    w = FinetuneWidget.for_run(Run(rd))
    try:
        sleeper.end()  # gone without an end event
        assert wait_for(lambda: w.state["status"] == "killed")
        assert "without a final event" in w.state["error"]
        assert w.state["resume_from"] == str(rd.checkpoints / "checkpoint-2")
        assert wait_for(lambda: not w._thread.is_alive())
        words = w._repr_mimebundle_()[0]
        assert "killed (no final event); resumable from checkpoint-2" in words["text/plain"]
        assert "resumable from checkpoint-2" in words["text/html"]
    finally:
        w.close()


def test_trainer_gone_before_any_event_is_explained(tmp_path, fast):
    rd = RunDir(tmp_path / "early")
    rd.write_spec(RunSpec(name="early", data=["x.txt"], model="distilgpt2"))
    rd.log_file.write_text("Traceback (most recent call last):\nModuleNotFoundError: No module named 'torch'\n")
    rd.pid_file.write_text(str(finished_pid()))
    w = FinetuneWidget.for_run(Run(rd))
    try:
        assert wait_for(lambda: w.state["status"] == "killed")
        assert "No module named 'torch'" in w.state["error"]
        assert "ended before reporting anything" in w.state["error"]
        assert w._thread is None  # known at once: nothing to follow
    finally:
        w.close()


def test_poll_errors_are_reported_not_raised(tmp_path, sleeper, fast, monkeypatch):
    rd, _ = make_run(tmp_path, sleeper, ended=False)
    w = FinetuneWidget.for_run(Run(rd))
    run = w.run
    try:

        def broken():
            raise OSError("disk went away")

        monkeypatch.setattr(run, "poll", broken)
        assert wait_for(lambda: "disk went away" in w.error)
        assert w._thread.is_alive()  # still trying
        monkeypatch.undo()
        assert wait_for(lambda: w.error == "")
    finally:
        w.close()


def test_long_histories_are_thinned_keeping_ends():
    points = [[i, 10 - i / 1000] for i in range(1, 5001)]
    kept = thin(points, 800)
    assert len(kept) <= 800 and kept[0] == points[0] and kept[-1] == points[-1]
    assert [p[0] for p in kept] == sorted(p[0] for p in kept)
    assert thin(points[:10], 800) == points[:10]


# -- Stop and Resume -----------------------------------------------------------------------


def test_stop_message_writes_the_stop_file(tmp_path, sleeper, monkeypatch):
    rd, _ = make_run(tmp_path, sleeper, ended=False)
    w = FinetuneWidget.for_run(Run(rd))
    try:
        sent = acks(w, monkeypatch)
        assert not rd.stop_file.exists()
        w._handle_custom_msg({"type": "stop"}, [])
        assert rd.stop_file.exists()
        assert sent == [{"type": "ack", "action": "stop", "error": None}]
        w._handle_custom_msg({"type": "something else"}, [])
        assert len(sent) == 1  # not ours: no answer
    finally:
        w.close()


def test_stop_of_a_finished_run_is_refused_in_words(tmp_path, monkeypatch):
    rd, _ = make_run(tmp_path, finished_pid())
    w = FinetuneWidget.for_run(Run(rd))
    sent = acks(w, monkeypatch)
    w._handle_custom_msg({"type": "stop"}, [])
    assert not rd.stop_file.exists()
    assert sent[0]["action"] == "stop" and "not running" in sent[0]["error"] and "completed" in sent[0]["error"]
    w.close()


def test_resume_follows_the_new_process(tmp_path, sleeper, fast, monkeypatch):
    rd, writer = make_run(tmp_path, finished_pid(), ended=False)
    writer.write("status", status="stopping", step=2)
    writer.write("end", status="stopped", step=2, tokenizer_hash_after=HASH)
    w = FinetuneWidget.for_run(Run(rd))
    assert w.state["status"] == "stopped" and w._thread is None
    sent = acks(w, monkeypatch)

    def fake_resume(self):  # what launcher.start does, minus the trainer
        rd.pid_file.write_text(str(sleeper.hold(rd.lock_file).pid))
        rd.command_file.write_text(f"python -m tokenlens.finetune.trainer {rd.path} --resume\n")
        return Run(rd)

    monkeypatch.setattr(Run, "resume", fake_resume)
    try:
        w._handle_custom_msg({"type": "resume"}, [])
        assert sent == [{"type": "ack", "action": "resume", "error": None}]
        assert w.command.endswith("--resume")
        assert w._thread is not None and w._thread.is_alive()  # the old "end" still shows, the process runs
        writer.write("start", max_steps=4, tokenizer_hash=HASH, resumed_from=str(rd.latest_checkpoint()))
        writer.write("log", step=3, epoch=0.75, loss=LOSSES[2], lr=1e-5, grad_norm=0.7, tokens_per_s=1400.0)
        assert wait_for(lambda: w.state["status"] == "running" and w.state["step"] == 3)
    finally:
        w.close()


def test_resume_refusal_is_acknowledged_with_the_reason(tmp_path, sleeper, monkeypatch):
    rd, _ = make_run(tmp_path, sleeper, ended=False)
    w = FinetuneWidget.for_run(Run(rd))
    try:
        sent = acks(w, monkeypatch)
        w._handle_custom_msg({"type": "resume"}, [])  # Run.resume refuses a live run
        assert sent[0]["action"] == "resume"
        assert f"is running (trainer process {sleeper.pid}), so it cannot be resumed" in sent[0]["error"]
    finally:
        w.close()


# -- the copy saved with the notebook ------------------------------------------------------


def test_static_summary_stays_readable_without_the_extension(tmp_path):
    rd, _ = make_run(tmp_path, finished_pid())
    w = FinetuneWidget.for_run(Run(rd))
    data, _meta = w._repr_mimebundle_()
    page = data["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "<script" not in page.lower() and "http" not in page.lower()
    assert "<svg" in page and "<polyline" in page
    for text in (
        "completed",
        "4 / 4",
        "2.8",
        f"{math.exp(2.8):.2f}",
        "2.9",
        f"{math.exp(2.9):.2f}",
        "unchanged",
        HASH[:12],
        str(rd.final),
        "world, and good night",
        "checkpoint-2",
        "1500",
    ):
        assert text in page, text
    assert "from 4.2 at step 1" in page
    assert (
        data["text/plain"]
        == "<Finetune 'demo': completed, step 4 / 4 (100%), loss 2.8 (ppl 16.44), eval 2.9 (ppl 18.17)>"
    )
    w.close()


def test_static_summary_says_changed_and_escapes(tmp_path):
    rd, writer = make_run(tmp_path, finished_pid(), ended=False)
    finish(rd, writer, after="0" * 32)
    writer.write("sample", step=4, prompt="<b>", text="</td><script>alert(1)</script>")
    w = FinetuneWidget.for_run(Run(rd))
    page = w._repr_mimebundle_()[0]["text/html"]
    assert "CHANGED" in page and "unchanged" not in page
    assert "<script" not in page
    assert "&lt;script&gt;" in page
    w.close()


def test_loss_svg_handles_one_point_and_none():
    assert loss_svg([], []) == ""
    one = loss_svg([[1, 3.0]], [])
    assert one.startswith("<svg") and "nan" not in one
    assert "eval" in loss_svg([[1, 3.0], [2, 2.0]], [[2, 2.5]])
    assert "running" in summary_html("x", {"status": "running"})


# -- the real bundle in a real browser -----------------------------------------------------


@pytest.mark.browser
def test_view_renders_in_chromium_light_and_dark(tmp_path, sleeper):
    if not have_chromium():
        pytest.skip(SKIP_REASON)
    if not (ROOT / "tokenlens/static/finetune.js").is_file():
        pytest.skip("the widget bundle is not built (jlpm build:widget)")
    sync_api = pytest.importorskip("playwright.sync_api")

    running_dir, _ = make_run(tmp_path, sleeper, ended=False, name="live")
    done_dir, _ = make_run(tmp_path, finished_pid(), name="done")
    views = {}
    for key, rd in (("running", running_dir), ("completed", done_dir)):
        w = FinetuneWidget.for_run(Run(rd))
        w.close()  # the state is all the page needs
        views[key] = {"name": w.name, "run_dir": w.run_dir, "command": w.command, "state": w.state, "error": ""}

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(ROOT)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/ui-tests/harness/finetune.html"
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 820, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            for theme in ("light", "dark"):
                page.goto(f"{url}?theme={theme}")
                page.wait_for_selector("body[data-ready='waiting']")
                for key, traits in views.items():
                    page.evaluate("traits => window.mount(traits)", traits)
                    view = page.locator("#view")
                    page.locator("#view .tl-ft-chart-svg").wait_for()
                    view.screenshot(path=str(ARTIFACTS / f"finetune-{key}-{theme}.png"))

                    text = view.inner_text()
                    assert f"step {traits['state']['step']} / 4" in text
                    assert page.locator(".tl-ft-badge").inner_text().lower() == key
                    assert page.locator(".tl-ft-train").count() == 1
                    assert page.locator(".tl-ft-eval-dot").count() == len(traits["state"]["eval_history"])
                    stop = page.locator("button.tl-ft-stop")
                    resume = page.locator("button.tl-ft-resume")
                    if key == "completed":
                        assert "unchanged" in text and str(done_dir.final) in text
                        assert stop.is_disabled() and resume.is_hidden()
                    else:
                        assert "checked again when the run ends" in text
                        assert stop.is_enabled() and resume.is_disabled()
                        stop.click()
                        assert page.evaluate("window.model.sent") == [{"type": "stop"}]
                        page.wait_for_function(
                            "document.querySelector('.tl-ft-note').textContent.includes('saves a checkpoint')"
                        )
                        assert stop.is_disabled()  # until the trainer answers by status
                        page.locator(".tl-ft-log input").check()
                        page.locator(".tl-ft-command summary").click()
                        assert "tokenlens.finetune.trainer" in page.locator(".tl-ft-command pre").inner_text()
                        page.locator(".tl-ft-chart-svg").hover(position={"x": 300, "y": 80})
                        assert "step" in page.locator(".tl-ft-tip").inner_text()
                        view.screenshot(path=str(ARTIFACTS / f"finetune-{key}-log-{theme}.png"))
            # a state that arrives later updates the same view in place
            live = dict(views["running"], state=dict(views["completed"]["state"]))
            page.evaluate("traits => window.mount(traits)", views["running"])
            page.evaluate("s => window.model.set('state', s)", live["state"])
            assert page.locator(".tl-ft-badge").inner_text().lower() == "completed"
            browser.close()
    finally:
        server.shutdown()
    assert not errors, errors
    assert all(r.startswith(f"http://127.0.0.1:{server.server_port}/") for r in requests), requests

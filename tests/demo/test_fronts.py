"""One core, two fronts: the core imports no UI toolkit, each front imports only its own, and the Space
carries the core and the Gradio front, never the Streamlit one."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.demo.servers import REPO

CORE = sorted(path.stem for path in (REPO / "demo_app").glob("*.py") if path.stem != "__main__")
TOOLKITS = ("gradio", "streamlit", "altair")


def _loaded_after(module: str) -> set[str]:
    """Which UI toolkits importing ``module`` loads, in a fresh interpreter."""
    probe = (f"import sys, importlib; importlib.import_module({module!r}); "
             f"print(' '.join(t for t in {TOOLKITS!r} if t in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return set(done.stdout.split())


def test_fronts_core_lists_the_modules_both_fronts_share():
    assert {"cards", "client", "waking", "connection", "forms", "results", "whatif", "charts", "batch",
            "batch_report", "snippets", "settings"} <= set(CORE)


@pytest.mark.parametrize("name", CORE)
def test_fronts_core_module_imports_no_ui_toolkit(name: str):
    module = "demo_app" if name == "__init__" else f"demo_app.{name}"
    assert _loaded_after(module) == set()


def test_fronts_each_front_imports_only_its_own_toolkit():
    assert "streamlit" not in _loaded_after("demo_app.gradio_front")
    assert "gradio" not in _loaded_after("demo_app.streamlit_front")


def test_fronts_the_space_carries_the_core_and_the_gradio_front_only():
    shipped = {path.relative_to(REPO / "space" / "demo_app").as_posix()
               for path in (REPO / "space" / "demo_app").rglob("*.py")}
    assert {f"{name}.py" for name in CORE} <= shipped
    assert "gradio_front/page.py" in shipped
    assert not any(name.startswith("streamlit_front/") for name in shipped)
    assert "streamlit" not in (REPO / "space" / "requirements.txt").read_text()

"""streamlit_app/ is ready for Streamlit Community Cloud as it is: an entry file, a pinned requirements file
beside it that holds the demo's own streamlit and requests (and nothing of the API or of Gradio), and an app
that runs from that file alone on a fresh Python, started with `streamlit run` as Community Cloud starts it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import requests

from tests.demo.servers import REPO, UV, ApiProcess, StreamlitProcess, find_python

APP = REPO / "streamlit_app"


def _pins(path: Path) -> dict[str, str]:
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", path.read_text(), flags=re.MULTILINE))


def test_streamlit_deploy_entry_and_requirements_sit_where_community_cloud_looks():
    assert (APP / "streamlit_app.py").is_file()
    lines = [line for line in (APP / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines and all("==" in line for line in lines), "every requirement is pinned"
    app, demo = _pins(APP / "requirements.txt"), _pins(REPO / "requirements-demo.txt")
    assert app["streamlit"] == demo["streamlit"] and app["requests"] == demo["requests"]
    # The demo only: no Gradio, and nothing of the API's (a model never loads in the demo's process).
    assert not {"gradio", "scikit-learn", "sqlalchemy", "onnxruntime"} & set(app)
    # Community Cloud reads its config only at the repository's root.
    assert (REPO / ".streamlit" / "config.toml").is_file()


@pytest.mark.slow
def test_streamlit_deploy_app_runs_from_its_requirements_on_a_fresh_python(live_api: ApiProcess, tmp_path):
    # Community Cloud offers several Pythons; 3.12 is the one the README tells a student to pick.
    venv = tmp_path / "venv"
    subprocess.run([UV, "venv", "--quiet", "--python", find_python("3.12"), str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run([UV, "pip", "install", "--quiet", "--python", str(python), "-r", str(APP / "requirements.txt")],
                   check=True, timeout=900)
    app = StreamlitProcess(tmp_path, live_api.url, env={"HOME": str(tmp_path)})
    app.python = str(python)  # its `streamlit` is the one run_demo.sh finds first on PATH
    app.start()
    try:
        # The page's script runs on a visit; the app's own health endpoint says the server is up, and the
        # AppTest smoke below runs the script with this Python and these packages only.
        assert requests.get(f"{app.url}/_stcore/health", timeout=10).text == "ok"
    finally:
        app.stop()
    # From another folder, as `streamlit run` sees it: the entry file finds demo_app by itself.
    smoke = (
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(APP / 'streamlit_app.py')!r}, default_timeout=60).run()\n"
        "assert not at.exception, at.exception\n"
        "assert any('API connected · 3 models' in h.proto.body for h in at.html)\n"
        "next(b for b in at.button if b.label == 'Example 1').click()\n"
        "at.run()\n"
        "assert any('answered in' in h.proto.body for h in at.html)\n"
        "print('streamlit app ok')\n"
    )
    done = subprocess.run([str(python), "-c", smoke], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={"PATH": str(python.parent), "API_URL": live_api.url, "HOME": str(tmp_path),
                               "PYTHONPATH": ""})
    assert "streamlit app ok" in done.stdout, done.stderr[-3000:]

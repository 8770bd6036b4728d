"""A bundle that cannot be served is reported, and every other model keeps serving."""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time

import pytest

from api.errors import ModelNotFoundError, ModelUnavailableError
from api.serving.bundle import ARTIFACT_FILE
from api.serving.registry import Registry
from api.serving.schemas import build_schemas
from tests.factories import EXAMPLE_MODELS, save_tiny_classifier, save_tiny_regressor, saved


@pytest.fixture
def models_dir(tmp_path):
    """The example bundles plus one tiny bundle a test may break."""
    target = tmp_path / "models"
    shutil.copytree(EXAMPLE_MODELS, target)
    saved(save_tiny_classifier, target, "tiny-clf")
    return target


def _break(models_dir, how: str) -> None:
    bundle = models_dir / "tiny-clf"
    if how == "corrupt artifact":
        (bundle / ARTIFACT_FILE).write_bytes(b"\x00" * 100)
    elif how == "missing artifact":
        (bundle / ARTIFACT_FILE).unlink()
    elif how == "lfs pointer":
        (bundle / ARTIFACT_FILE).write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n")
    elif how == "broken card":
        (bundle / "card.json").write_text("{")
    elif how == "no card":
        (bundle / "card.json").unlink()
    elif how == "other scikit-learn":
        card = json.loads((bundle / "card.json").read_text())
        card["versions"]["scikit-learn"] = "0.24.2"
        (bundle / "card.json").write_text(json.dumps(card))


FAILURES = {
    "corrupt artifact": "does not match its card",
    "missing artifact": "cannot be read",
    "lfs pointer": "Git LFS pointer",
    "broken card": "not valid JSON",
    "no card": "card.json is missing",
    "other scikit-learn": "saved with scikit-learn 0.24.2",
}


@pytest.mark.parametrize("how", FAILURES)
def test_a_broken_bundle_is_reported_while_the_others_serve(serve, models_dir, how):
    _break(models_dir, how)
    with serve(models_dir=models_dir) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.headers["retry-after"]
        problem = next(d for d in ready.json()["details"] if d["field"] == "models.tiny-clf")
        assert FAILURES[how] in problem["message"]

        listed = {m["name"]: m for m in client.get("/models").json()}
        assert listed["tiny-clf"]["state"] == "failed" and FAILURES[how] in listed["tiny-clf"]["error"]

        refused = client.post("/models/tiny-clf/predict", json={"age": 30})
        assert refused.status_code == 503 and refused.json()["error"] == "model_unavailable"
        assert FAILURES[how] in refused.json()["message"]

        example = json.loads((models_dir / "penguins" / "card.json").read_text())["examples"][0]
        assert client.post("/models/penguins/predict", json=example).status_code == 200


def test_a_version_mismatch_served_anyway_is_visible_in_ready_and_the_card(serve, models_dir):
    _break(models_dir, "other scikit-learn")
    with serve(models_dir=models_dir, allow_version_mismatch=True) as client:
        ready = client.get("/ready")
        assert ready.status_code == 200
        notes = next(m for m in ready.json()["models"] if m["name"] == "tiny-clf")["notes"]
        assert any("0.24.2" in note for note in notes)
        model = client.get("/models/tiny-clf").json()
        assert model["state"] == "ready" and any("0.24.2" in n for n in model["notes"])
        assert model["card"]["versions"]["scikit-learn"] == "0.24.2"


def test_no_models_means_not_ready_with_a_hint(serve, tmp_path):
    with serve(models_dir=tmp_path / "nothing-here") as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert "no model bundles found" in ready.json()["message"]
        assert {"field": "models", "message": f"no model bundles found in {tmp_path / 'nothing-here'}",
                "hint": "save one with api.serving.bundle.save_bundle() or set MODELS_DIR"} in ready.json()["details"]
        assert client.get("/models").json() == []


@pytest.fixture
def found(tmp_path):
    """A models folder holding one good bundle, a model without its card, and what is not a bundle."""
    models = tmp_path / "models"
    saved(save_tiny_classifier, models, "tiny-clf")
    (models / "no-card").mkdir()
    shutil.copy(models / "tiny-clf" / ARTIFACT_FILE, models / "no-card" / ARTIFACT_FILE)
    (models / ".git").mkdir()  # hidden
    shutil.copytree(models / "tiny-clf", models / "_draft")  # set aside by its leading underscore
    (models / "empty").mkdir()  # a save that stopped before writing anything
    (models / "README.txt").write_text("not a folder")
    return Registry.discover(models, tolerance=None, max_batch_rows=10)


def test_discovery_keeps_bundles_and_models_missing_a_card_and_skips_the_rest(found):
    assert [(entry.name, entry.state) for entry in found] == [("no-card", "failed"), ("tiny-clf", "pending")]
    assert len(found) == 2
    assert found.get("no-card").error.endswith(
        "card.json is missing: every folder in the models directory needs the card.json written by "
        "save_bundle(). Re-save the model with `python -m api.bundle` or remove the folder."
    )


def test_a_model_still_loading_or_failed_says_so_and_an_unknown_one_gets_the_closest_name(found):
    assert found.wait_loaded(0) is False
    with pytest.raises(ModelUnavailableError) as pending:
        found.predictor("tiny-clf")
    assert pending.value.message == "model 'tiny-clf' is still loading; retry in a few seconds"
    with pytest.raises(ModelUnavailableError) as failed:
        found.predictor("no-card")
    assert failed.value.message.startswith("model 'no-card' failed to load: ")
    assert failed.value.message.endswith("card.json is missing: every folder in the models directory needs the "
                                         "card.json written by save_bundle(). Re-save the model with "
                                         "`python -m api.bundle` or remove the folder.")
    with pytest.raises(ModelNotFoundError) as unknown:
        found.get("tiny-cl")
    assert unknown.value.message == "no model is called 'tiny-cl'; did you mean 'tiny-clf'?"


@pytest.mark.parametrize("engine", ["auto", "sklearn"])
def test_loading_serves_each_bundle_on_the_engine_asked_and_times_it(found, engine):
    loader = found.load_all_in_background(allow_version_mismatch=False, engine=engine)
    # Named in a thread dump or a traceback ("Exception in thread model-loader"), and a daemon: stopping
    # the server while a slow bundle still unpickles does not wait for it.
    assert (loader.name, loader.daemon) == ("model-loader", True)
    loader.join(60)
    assert found.wait_loaded(0) is True
    entry = found.get("tiny-clf")  # skl2onnx cannot convert it: scikit-learn serves it either way
    assert (entry.state, entry.error, entry.notes) == ("ready", None, [])
    assert found.predictor("tiny-clf") is entry.predictor and entry.predictor.engine_name == "sklearn"
    assert 0 < entry.load_seconds < 60
    assert found.get("no-card").state == "failed"  # a failed bundle is not tried again


def test_engine_onnx_refuses_a_bundle_without_an_onnx_model_saying_why(found):
    found.load_all(allow_version_mismatch=False, engine="onnx")
    entry = found.get("tiny-clf")
    assert (entry.state, entry.predictor, entry.load_seconds) == ("failed", None, None)
    assert entry.error == (
        "tiny-clf has no ONNX model (skl2onnx cannot convert a step that takes text and numbers or booleans "
        "together; served on scikit-learn), but ENGINE=onnx requires one: set ENGINE=auto to serve it on scikit-learn."
    )


def test_a_bug_while_loading_fails_the_models_left_pending_rather_than_leave_them_waiting(tmp_path, caplog):
    # A card edited by hand into a label-only classifier over a regressor: building its engine
    # raises an AttributeError, not a BundleError, and loading stops there.
    models = tmp_path / "models"
    saved(save_tiny_regressor, models, "a-reg")
    saved(save_tiny_classifier, models, "b-clf")
    card = json.loads((models / "a-reg" / "card.json").read_text())
    card.update(task="classification", classes=["low", "high"], probabilities=False)
    (models / "a-reg" / "card.json").write_text(json.dumps(card))
    registry = Registry.discover(models, tolerance=None, max_batch_rows=10)
    with caplog.at_level(logging.ERROR, logger="freeport.registry"):
        registry.load_all_in_background(allow_version_mismatch=False, engine="sklearn").join(60)
    assert registry.wait_loaded(0) is True  # nothing left pending: requests get an answer, not a wait
    failed = [(entry.name, entry.state, entry.error.split(" has no attribute")[0]) for entry in registry]
    stopped = "loading stopped: AttributeError: 'LinearRegression' object"
    assert failed == [("a-reg", "failed", stopped), ("b-clf", "failed", stopped)]
    logged = [(r.getMessage().split(" has no attribute")[0], r.exc_info[0] if r.exc_info else None)
              for r in caplog.records if r.name == "freeport.registry"]
    assert logged == [("model loading stopped", AttributeError),  # with the bug's traceback
                      (f"model a-reg cannot be served: {stopped}", None),
                      (f"model b-clf cannot be served: {stopped}", None)]


def test_the_log_names_each_folder_skipped_each_bundle_failed_and_each_model_loaded(tmp_path, caplog):
    # What an operator reads at start-up, line by line: a stray folder (a hidden one is passed over in
    # silence), a model without its card, one whose file does not match its card (the next one still
    # loads), one served on a scikit-learn other than the one it was saved with, and how long that took.
    models = tmp_path / "models"
    saved(save_tiny_classifier, models, "tiny-clf")
    saved(save_tiny_classifier, models, "a-corrupt")
    (models / "a-corrupt" / ARTIFACT_FILE).write_bytes(b"\x00" * 100)
    (models / ".git").mkdir()
    (models / "empty").mkdir()
    (models / "no-card").mkdir()
    shutil.copy(models / "tiny-clf" / ARTIFACT_FILE, models / "no-card" / ARTIFACT_FILE)
    _break(models, "other scikit-learn")
    with caplog.at_level(logging.INFO, logger="freeport.registry"):
        registry = Registry.discover(models, tolerance=None, max_batch_rows=10)
        registry.load_all(allow_version_mismatch=True, engine="auto")
    entry, corrupt = registry.get("tiny-clf"), registry.get("a-corrupt")
    assert corrupt.state == "failed" and "does not match its card" in corrupt.error
    [note] = entry.notes
    assert note.startswith("saved with scikit-learn 0.24.2, but ") and note.endswith("ALLOW_VERSION_MISMATCH is set.")
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "freeport.registry"] == [
        ("WARNING", f"skipping {models / 'empty'}: it holds no card.json and no model file (a save that stopped?)"),
        ("ERROR", f"model no-card cannot be served: {models / 'no-card' / 'card.json'} is missing: every folder "
                  "in the models directory needs the card.json written by save_bundle(). Re-save the model with "
                  "`python -m api.bundle` or remove the folder."),
        ("ERROR", f"model a-corrupt cannot be served: {corrupt.error}"),
        ("WARNING", f"model tiny-clf: {note}"),
        ("INFO", f"model tiny-clf {entry.card.version} loaded on sklearn in {entry.load_seconds:.2f} s"),
    ]


def test_a_models_directory_that_does_not_exist_serves_nothing_and_says_so(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="freeport.registry"):
        registry = Registry.discover(tmp_path / "nowhere", tolerance=None, max_batch_rows=10)
    assert len(registry) == 0
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "freeport.registry"] == [
        ("WARNING", f"models directory {tmp_path / 'nowhere'} does not exist: no model will be served"),
    ]


def test_find_gives_the_entry_by_name_or_none(found):
    assert found.find("tiny-clf") is found.get("tiny-clf")
    assert found.find("no-card") is found.get("no-card")
    assert found.find("tiny-cl") is None


def test_wait_settled_waits_for_what_runs_after_the_models_load(found):
    # Before any loader, nothing is unsettled; with one, the models can be ready while its `finish`
    # (storing new bundles in the database) still runs, and wait_settled waits for that too.
    assert Registry([], found.models_dir, tolerance=None, max_batch_rows=10).wait_settled(0) is True
    release, began = threading.Event(), []

    def prepare(registry):
        began.append(("prepare", registry, registry.get("tiny-clf").state))

    def finish(registry):
        began.append(("finish", registry, registry.get("tiny-clf").state))
        release.wait(60)

    loader = found.load_all_in_background(allow_version_mismatch=False, engine="sklearn", prepare=prepare,
                                          finish=finish)
    assert found.wait_loaded(60) is True
    assert found.wait_settled(0.05) is False  # finish is held: it cannot have ended
    release.set()
    assert found.wait_settled(60) is True
    loader.join(60)
    assert began == [("prepare", found, "pending"), ("finish", found, "ready")]  # before and after loading


def _schemas_of(schemas) -> list[dict]:
    return [model.model_json_schema() for model in (schemas.features, schemas.batch, schemas.prediction)]


@pytest.fixture
def strict(found):
    """The bundles of ``found`` with refused ranges (5 %) and batches of at most 3 rows, and the list of
    entries whose routes it asked to rebuild."""
    registry, changes = Registry.discover(found.models_dir, tolerance=0.05, max_batch_rows=3), []
    registry.on_card_change = changes.append
    return registry, changes


def test_adopting_a_version_makes_its_model_pending_on_the_new_card(strict, tmp_path):
    registry, changes = strict
    entry = registry.get("tiny-clf")
    newer = entry.card.model_copy(update={"version": "v2", "title": "Tiny, again"})
    assert registry.adopt("tiny-clf", newer, tmp_path / "v2", "sha-2") is entry
    assert (entry.card, entry.path, entry.sha256, entry.state, entry.error, entry.predictor) == (
        newer, tmp_path / "v2", "sha-2", "pending", None, None)
    assert _schemas_of(entry.schemas) == _schemas_of(build_schemas(newer, tolerance=0.05, max_batch_rows=3))
    assert changes == [entry]  # its routes are rebuilt from the new card
    registry.adopt("tiny-clf", newer, tmp_path / "v2", "sha-2")
    assert changes == [entry]  # the same card again: nothing to rebuild


def test_adopting_a_model_the_disk_never_had_adds_it_pending(strict, tmp_path):
    registry, changes = strict
    card = registry.get("tiny-clf").card.model_copy(update={"name": "from-db"})
    entry = registry.adopt("from-db", card, tmp_path / "from-db", "sha-db")
    assert registry.find("from-db") is entry and len(registry) == 3
    assert (entry.name, entry.card, entry.path, entry.sha256, entry.state) == (
        "from-db", card, tmp_path / "from-db", "sha-db", "pending")
    assert changes == [entry]


def test_a_swap_serves_the_new_version_whole_and_rebuilds_routes_only_for_a_new_card(strict, tmp_path, caplog):
    registry, changes = strict
    entry = registry.get("tiny-clf")
    same, newer = entry.card, entry.card.model_copy(update={"version": "v3"})
    new_predictor, newer_predictor = object(), object()  # swap only hands them on
    entry.fail("an earlier error, cleared by the swap")
    with caplog.at_level(logging.INFO, logger="freeport.registry"):
        registry.swap("tiny-clf", same, tmp_path / "same", "sha-same", new_predictor)
        assert (entry.card, entry.path, entry.sha256, entry.predictor, entry.state, entry.error) == (
            same, tmp_path / "same", "sha-same", new_predictor, "ready", None)
        assert changes == []  # the routes stand: same card
        registry.swap("tiny-clf", newer, tmp_path / "v3", "sha-3", newer_predictor)
    assert (entry.card, entry.path, entry.sha256, entry.predictor, entry.state, entry.error) == (
        newer, tmp_path / "v3", "sha-3", newer_predictor, "ready", None)
    assert _schemas_of(entry.schemas) == _schemas_of(build_schemas(newer, tolerance=0.05, max_batch_rows=3))
    assert changes == [entry]
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "freeport.registry"][-2:] == [
        ("INFO", f"model tiny-clf: now serving version {same.version}"),
        ("INFO", "model tiny-clf: now serving version v3"),
    ]


def test_a_swap_to_a_model_first_uploaded_at_run_time_adds_it_ready_with_its_routes(strict, tmp_path, caplog):
    registry, changes = strict
    card = registry.get("tiny-clf").card.model_copy(update={"name": "uploaded", "version": "u1"})
    predictor = object()
    with caplog.at_level(logging.INFO, logger="freeport.registry"):
        registry.swap("uploaded", card, tmp_path / "uploaded", "sha-u", predictor)
    entry = registry.find("uploaded")
    assert (entry.name, entry.card, entry.path, entry.sha256, entry.predictor, entry.state, entry.error) == (
        "uploaded", card, tmp_path / "uploaded", "sha-u", predictor, "ready", None)
    assert _schemas_of(entry.schemas) == _schemas_of(build_schemas(card, tolerance=0.05, max_batch_rows=3))
    assert changes == [entry] and registry.predictor("uploaded") is predictor
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "freeport.registry"] == [
        ("INFO", "model uploaded: now serving version u1")]


def test_loading_without_an_engine_named_serves_the_onnx_model_when_the_card_lists_one(tmp_path):
    # ENGINE's default, auto, is also the registry's: a bundle with an agreeing ONNX model is served on it.
    shutil.copytree(EXAMPLE_MODELS / "penguins", tmp_path / "penguins")
    in_background = Registry.discover(tmp_path, tolerance=None, max_batch_rows=10)
    in_background.load_all_in_background(allow_version_mismatch=False).join(60)
    at_once = Registry.discover(tmp_path, tolerance=None, max_batch_rows=10)
    at_once.load_all(allow_version_mismatch=False)
    assert [r.predictor("penguins").engine_name for r in (in_background, at_once)] == ["onnx", "onnx"]


def test_adopt_and_swap_need_no_one_to_tell_of_a_new_card(found, tmp_path):
    # A registry nobody rebuilds routes for (on_card_change unset), as outside the app.
    card = found.get("tiny-clf").card
    newer = card.model_copy(update={"version": "v2"})
    assert found.adopt("tiny-clf", newer, tmp_path / "v2", "sha-2").state == "pending"
    found.swap("uploaded", card.model_copy(update={"name": "uploaded"}), tmp_path / "uploaded", "sha-u", object())
    assert found.get("uploaded").state == "ready"


def test_with_every_model_loaded_wait_loaded_answers_at_once(tmp_path):
    # Loaded without the background loader, so nothing will ever signal "done": no model is pending,
    # which is all wait_loaded has to see.
    shutil.copytree(EXAMPLE_MODELS / "penguins", tmp_path / "penguins")
    registry = Registry.discover(tmp_path, tolerance=None, max_batch_rows=10)
    registry.load_all(allow_version_mismatch=False, engine="sklearn")
    started = time.monotonic()
    assert registry.wait_loaded(30) is True
    assert time.monotonic() - started < 10  # not the 30 s bound

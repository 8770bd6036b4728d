"""Score the new rows of a table with a model, writing each prediction beside the table, once.

The model is its active version, as the service serves it: the one the database
says is active (written to MODEL_CACHE_DIR), or the bundle in models/ when the
database holds no versions yet.

Idempotent by construction: the predictions table's key is (row id, model), a
row is read only when that model has no prediction for it yet, and predictions
are inserted with ON CONFLICT DO NOTHING, so a run that stops half-way, a run
repeated, or two runs at once never score a row twice. A row the model cannot
take (a missing column value, an unknown category, a value the model fails on)
is stored with the reason instead of a prediction, so it is reported once and
does not hold back the rows after it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import JSON, Column, DateTime, MetaData, String, Table, Text, and_, exists, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateTable

from api.errors import FreeportError, PredictionFailedError
from api.serving.bundle import load_engine
from api.serving.card import FeatureSpec, ModelCard, read_card
from api.serving.predictor import Predictor
from api.serving.schemas import ModelSchemas, build_schemas
from api.serving.versions import write_version
from api.settings import Settings
from api.storage.database import create_db_engine
from api.storage.schema import current_revision
from api.storage.versions import active_versions, read_files

__all__ = ["ScoreReport", "score_table"]


class ScoringRefusedError(FreeportError):
    """The job cannot start: a table, column or model is not what it needs."""

    code = "scoring_refused"


@dataclass(frozen=True)
class ScoreReport:
    table: str
    into: str
    model: str
    version: str
    answered: int
    refused: int
    seconds: float

    def __str__(self) -> str:
        if not self.answered and not self.refused:
            return f"nothing new in {self.table} for {self.model}: every row already has its prediction in {self.into}"
        refused = f", {self.refused:,} refused (the reason is in {self.into}.error)" if self.refused else ""
        return (
            f"scored {self.answered + self.refused:,} new rows of {self.table} with {self.model} {self.version}: "
            f"{self.answered:,} answered{refused}; stored in {self.into} in {self.seconds:.1f} s"
        )


@dataclass
class _Model:
    card: ModelCard
    schemas: ModelSchemas
    predictor: Predictor


def score_table(
    settings: Settings, *, table: str, model: str, id_column: str = "id", into: str | None = None,
    batch_size: int = 1000,
) -> ScoreReport:
    """Score ``table``'s rows that ``model`` has not scored yet; see the module's docstring."""
    started = time.perf_counter()
    engine = create_db_engine(settings.database_url, pool_size=1, connect_timeout=settings.db_connect_timeout)
    try:
        loaded = _load(settings, model, engine)
        source = _reflect(engine, table, id_column, loaded.card)
        target = _predictions_table(engine, into or f"{source.name}_predictions", source.c[id_column])
        answered = refused = 0
        while True:
            with engine.begin() as connection:
                rows = _unscored(connection, source, target, id_column, loaded.card, batch_size)
                if not rows:
                    break
                results = _score(loaded, [features for _, features in rows])
                _store(connection, target, loaded.card, [row_id for row_id, _ in rows], results)
            answered += sum(1 for r in results if "error" not in r)
            refused += sum(1 for r in results if "error" in r)
    finally:
        engine.dispose()
    return ScoreReport(
        table=table, into=target.name, model=model, version=loaded.card.version,
        answered=answered, refused=refused, seconds=time.perf_counter() - started,
    )


def _load(settings: Settings, name: str, engine: Engine) -> _Model:
    """The model's active version, as the service serves it: the database's, else the bundle in models/."""
    found = _active_in_database(engine, name, settings.model_cache_dir)
    if found is not None:
        card, bundle = found
    else:
        bundle = settings.models_dir / name
        if not bundle.is_dir():
            known = sorted(p.name for p in settings.models_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
            raise ScoringRefusedError(f"no model is called {name!r} in {settings.models_dir}; the models are {known}")
        card = read_card(bundle)
    engine, _notes = load_engine(
        bundle, card, engine=settings.engine, allow_version_mismatch=settings.allow_version_mismatch
    )
    schemas = build_schemas(card, tolerance=settings.refusal_tolerance, max_batch_rows=settings.max_batch_rows)
    return _Model(card, schemas, Predictor(card, engine))


def _active_in_database(engine: Engine, name: str, cache_dir: Path) -> tuple[ModelCard, Path] | None:
    """``name``'s active version, written from the database to a folder (None when it has no versions yet:
    a database the service never started on, or a model it does not know)."""
    with engine.connect() as connection:
        if current_revision(connection) is None:
            return None
        stored = active_versions(connection).get(name)
        if stored is None:
            return None
        files = read_files(connection, stored.id)
    return write_version(cache_dir, stored, files)


def _reflect(engine: Engine, name: str, id_column: str, card: ModelCard) -> Table:
    schema, _, table_name = name.rpartition(".")
    if not inspect(engine).has_table(table_name, schema=schema or None):
        raise ScoringRefusedError(f"there is no table {name!r} in the database DATABASE_URL points to")
    table = Table(table_name, MetaData(), autoload_with=engine, schema=schema or None)
    columns = set(table.c.keys())
    missing = [f.name for f in card.features if f.name not in columns]
    if id_column not in columns:
        missing.insert(0, id_column)
    if missing:
        raise ScoringRefusedError(
            f"table {name!r} lacks the columns {missing} (the id column and the model's inputs); "
            f"its columns are {sorted(columns)}"
        )
    return table


def _predictions_table(engine: Engine, name: str, id_col: Column) -> Table:
    """The table predictions go to, created on first use with the source id's type."""
    schema, _, table_name = name.rpartition(".")
    table = Table(
        table_name,
        MetaData(),
        Column("row_id", id_col.type, primary_key=True),
        Column("model", String(64), primary_key=True),
        Column("model_version", String(64), nullable=False),
        Column("prediction", JSON(none_as_null=True), nullable=True),
        # The rest of the API's answer: probabilities (classifiers) and out_of_range.
        Column("outcome", JSON(none_as_null=True), nullable=True),
        Column("error", Text, nullable=True),
        Column("scored_at", DateTime(timezone=True), nullable=False),
        schema=schema or None,
    )
    try:
        with engine.begin() as connection:
            connection.execute(CreateTable(table, if_not_exists=True))
    except DBAPIError:
        # Two runs starting at once can both find no table; the second's CREATE then fails,
        # even with IF NOT EXISTS on PostgreSQL (its catalog's unique index). The table is there.
        if not inspect(engine).has_table(table_name, schema=schema or None):
            raise
    return table


def _unscored(
    connection: Connection, source: Table, target: Table, id_column: str, card: ModelCard, limit: int
) -> list[tuple[Any, dict[str, Any]]]:
    done = exists().where(and_(target.c.row_id == source.c[id_column], target.c.model == card.name))
    query = (
        select(source.c[id_column], *(source.c[f.name] for f in card.features))
        .where(~done)
        .order_by(source.c[id_column])
        .limit(limit)
    )
    return [
        (row[0], {f.name: _from_database(value, f) for f, value in zip(card.features, row[1:], strict=True)})
        for row in connection.execute(query)
    ]


def _from_database(value: Any, spec: FeatureSpec) -> Any:
    """A column's value as the API's JSON would carry it: NUMERIC as a number, 3.0 in an integer input as 3."""
    if isinstance(value, Decimal):
        value = float(value)
    if spec.type == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if spec.type == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _score(model: _Model, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An outcome per row, or ``{"error": reason}`` for a row the schema or the model refuses."""
    results: list[dict[str, Any] | None] = [None] * len(rows)
    valid: dict[int, dict[str, Any]] = {}
    for index, row in enumerate(rows):
        try:
            valid[index] = model.schemas.features.model_validate(row).model_dump(by_alias=True)
        except ValidationError as exc:
            results[index] = {"error": "; ".join(_describe(e) for e in exc.errors(include_url=False))}
    pending = list(valid)
    while pending:
        try:
            outcomes = model.predictor.predict([valid[i] for i in pending])
        except PredictionFailedError as exc:
            # The rows named are set aside with their reason; the rest are asked again.
            for position, reason in exc.failures.items():
                results[pending[position]] = {"error": reason}
            pending = [i for position, i in enumerate(pending) if position not in exc.failures]
            continue
        for index, outcome in zip(pending, outcomes, strict=True):
            results[index] = {**outcome, "out_of_range": model.schemas.out_of_range.row(valid[index])}
        pending = []
    return results  # type: ignore[return-value] -- every index was filled above


def _describe(error: Any) -> str:
    field = ".".join(str(p) for p in error["loc"]) or "row"
    return f"{field}: {error['msg']}"


def _store(connection: Connection, target: Table, card: ModelCard, ids: list[Any], results: list[dict]) -> None:
    now = datetime.now(UTC)
    values = [
        {
            "row_id": row_id,
            "model": card.name,
            "model_version": card.version,
            "prediction": result.get("prediction"),
            "outcome": None if "error" in result else {k: v for k, v in result.items() if k != "prediction"},
            "error": result.get("error"),
            "scored_at": now,
        }
        for row_id, result in zip(ids, results, strict=True)
    ]
    dialect = {"postgresql": postgresql, "sqlite": sqlite}.get(connection.dialect.name)
    if dialect is None:  # another database: no conflict clause, but the read already skipped scored rows
        connection.execute(target.insert(), values)
        return
    connection.execute(dialect.insert(target).on_conflict_do_nothing(), values)

"""CSV scoring against the live API: good rows scored, each bad row reported by number and reason."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from demo_app.batch import MAX_CSV_ROWS, CsvError, parse_cell, read_rows, score_rows, template_csv
from demo_app.cards import Card, Feature
from demo_app.client import ApiClient
from tests.demo.conftest import ODD_BATCH_ROWS

PENGUINS_CSV = b"""island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex
Torgersen,39.1,18.7,181,3750,male
Dream,,17.9,195,3900,
Atlantis,45.0,16.0,200,4000,male
Biscoe,fifty,15.0,218,4950,female
Biscoe,47.5,15.0,218,4950,female
"""


def _score(client: ApiClient, card: Card, data: bytes):
    rows, header = read_rows(card, data)
    return score_rows(client, card, rows, header)


def test_batch_scores_good_rows_and_reports_bad_ones_by_row(client: ApiClient, cards: dict[str, Card]):
    card = cards["penguins"]
    result = _score(client, card, PENGUINS_CSV)
    assert result.scored == 3
    # Row 3's island is refused by the API itself (with its hint); row 4's cell is caught before sending.
    assert set(result.problems) == {2, 3}
    assert "island: 'Atlantis' is not a category this model was trained on" in result.problems[2]
    assert result.problems[3] == "bill_length_mm: 'fifty' is not a number"
    table = result.table
    assert list(table["row"]) == [1, 2, 3, 4, 5]
    # A short status beside the predictions; the reason in the last column, out of their way.
    assert list(table["status"]) == ["ok", "ok", "not scored", "not scored", "ok"]
    assert list(table.columns[:3]) == ["row", "status", "predicted species"] and table.columns[-1] == "reason"
    assert table.loc[3, "reason"] == result.problems[3]
    scored = table[table["status"] == "ok"]
    assert scored["predicted species"].isin(card.classes).all()
    assert {"chance of Adelie", "chance of Chinstrap", "chance of Gentoo"} <= set(table.columns)
    # The same rows sent one by one give the same answers: nothing was shifted by the refused row.
    direct = client.predict("penguins", {"island": "Biscoe", "bill_length_mm": 47.5, "bill_depth_mm": 15.0,
                                         "flipper_length_mm": 218.0, "body_mass_g": 4950.0, "sex": "female"})
    assert table.loc[4, "predicted species"] == direct.data["prediction"]


def test_batch_result_downloads_as_csv_with_the_same_rows(client: ApiClient, cards: dict[str, Card], tmp_path):
    result = _score(client, cards["penguins"], PENGUINS_CSV)
    written = pd.read_csv(result.write_csv(tmp_path / "out.csv"))
    assert len(written) == 5 and list(written["row"]) == [1, 2, 3, 4, 5]


def test_batch_refused_row_in_a_later_chunk_is_pinned_to_its_own_row(odd_client: ApiClient, odd_card: Card):
    lines = ["age,income k$,colour,member"] + [f"{30 + i},50.0,red,true" for i in range(20)]
    lines[1 + 12] = "30,50.0,purple,true"  # row 13: the second chunk of 7
    lines[1 + 16] = "30,99999,red,no"  # row 17: far outside the training range
    result = _score(odd_client, odd_card, "\n".join(lines).encode())
    assert result.scored == 18
    assert set(result.problems) == {12, 16}
    assert "colour: 'purple' is not a category" in result.problems[12]
    # The API's reason, as a sentence a visitor can act on, then its hint.
    assert re.fullmatch(r"income k\$: 99999\.0 is outside the range this model accepts: it must be between (\S+) and "
                        r"(\S+) \(seen in training: \S+ to \S+\)\. Send a value between \1 and \2",
                        result.problems[16]), result.problems[16]
    assert ODD_BATCH_ROWS < 20  # the file really needed several batch requests


def test_batch_file_level_problems_are_refused_before_any_call(cards: dict[str, Card]):
    card = cards["penguins"]
    with pytest.raises(CsvError, match="no column 'sex'"):
        read_rows(card, b"island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\nDream,1,2,3,4\n")
    with pytest.raises(CsvError, match="not UTF-8"):
        read_rows(card, "island\nDr\xe9am\n".encode("latin-1"))
    with pytest.raises(CsvError, match="empty"):
        read_rows(card, b"")
    with pytest.raises(CsvError, match="no rows"):
        read_rows(card, PENGUINS_CSV.splitlines(keepends=True)[0])
    header = PENGUINS_CSV.splitlines(keepends=True)[0]
    with pytest.raises(CsvError, match="at most"):
        read_rows(card, header + b"Dream,40,17,190,3500,male\n" * (MAX_CSV_ROWS + 1))


def test_batch_cells_are_read_by_the_features_type():
    assert parse_cell(Feature("n", "integer"), " 3.0 ") == 3
    with pytest.raises(ValueError, match="whole number"):
        parse_cell(Feature("n", "integer"), "3.5")
    assert parse_cell(Feature("b", "boolean"), "Yes") is True
    assert parse_cell(Feature("x", "number", nullable=True), "NA") is None
    with pytest.raises(ValueError, match="needs a value"):
        parse_cell(Feature("x", "number"), "")
    with pytest.raises(ValueError, match="finite"):
        parse_cell(Feature("x", "number"), "inf")


@pytest.mark.parametrize("name", ["flight-delay", "fuel-economy", "penguins"])
def test_batch_template_scores_cleanly(client: ApiClient, cards: dict[str, Card], name: str):
    card = cards[name]
    result = _score(client, card, template_csv(card).encode())
    assert result.problems == {} and result.scored == len(card.examples)


def test_batch_cells_of_an_integer_coded_category_are_sent_as_numbers():
    # The API takes such a category as a JSON number and refuses its text, "205".
    store = Feature("store", "category", categories=(101, 205))
    assert parse_cell(store, " 205 ") == 205
    assert parse_cell(Feature("colour", "category", categories=("red",)), "red") == "red"

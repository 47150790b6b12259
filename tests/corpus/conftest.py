"""Session fixtures of the hardening corpus: the corpus itself and a small model for `predict`."""

from __future__ import annotations

from pathlib import Path

import pytest

from .build import Corpus, build


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Corpus:
    """The whole corpus, written once per session."""
    return build(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def corpus_model(tmp_path_factory) -> Path:
    """A quick xgb model (expert + rhythm features) trained on 90 synthetic records, for `predict`."""
    from ecgfeat.extraction import run_extract
    from ecgfeat.features import FeatureSettings
    from ecgfeat.synth import synthesize
    from ecgfeat.training import TrainConfig, train

    root = tmp_path_factory.mktemp("corpus_model")
    data = synthesize(root / "syn90", n=90, seed=21, seconds=6.0, jobs=1)
    run_extract(data, root / "store", FeatureSettings(families=("expert", "rhythm")), jobs=1)
    res = train(TrainConfig(model="xgb", dataset="syn90", store=str(root / "store"), n_boot=20, jobs=1,
                            params={"n_estimators": 20}), root / "models")
    return Path(res["model_dir"])

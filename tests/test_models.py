"""Classical models: the zoo, one-vs-rest, and persistence that never runs code from a file."""

from __future__ import annotations

import hashlib
import json
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from ecgfeat.models import (MODELS, PRESETS, ModelFileError, OneVsRest, load_ovr, make_binary,
                            parse_params, save_ovr)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# small forests keep the suite fast; every other model runs its preset as is
FAST = {"rf": {"n_estimators": 60}}


def make_data(n: int = 300, p: int = 40, seed: int = 0):
    """X with 10% NaN (signal columns 0-2 complete) and one all-NaN column; Y: 2 learnable
    classes (a linear one, a threshold one) and a constant one."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)).astype(np.float32)
    mask = rng.random(X.shape) < 0.1
    mask[:, :3] = False
    X[mask] = np.nan
    X[:, 7] = np.nan
    Y = np.column_stack([X[:, 0] + X[:, 1] > 0, X[:, 2] > 0.5, np.zeros(n, bool)]).astype(int)
    return X, Y


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("model", MODELS)
def test_every_model_fits_and_predicts(data, model, preset):
    X, Y = data
    ovr = OneVsRest(model, params=FAST.get(model), preset=preset).fit(X, Y)
    P = ovr.predict_proba(X)
    assert P.shape == (300, 3) and P.dtype == np.float64
    assert np.all((P >= 0) & (P <= 1))
    assert ovr.n_outputs_ == 3 and list(ovr.classes_) == [0, 1, 2]
    assert ovr.constant_ == {2: 0.0} and np.all(P[:, 2] == 0.0)
    assert ovr.predict(X).shape == (300, 3)


@pytest.mark.parametrize("model", MODELS)
def test_learnable_signal_gets_high_auc(model):
    X, Y = make_data(n=400, seed=1)
    ovr = OneVsRest(model, params=FAST.get(model)).fit(X[:250], Y[:250])
    P = ovr.predict_proba(X[250:])
    for j in (0, 1):
        assert roc_auc_score(Y[250:, j], P[:, j]) > 0.9, (model, j)


def test_dataframe_names_align_and_missing_columns_named(data):
    X, Y = data
    names = [f"V{i}__expert__f{i}" for i in range(X.shape[1])]
    df = pd.DataFrame(X, columns=names)
    Ydf = pd.DataFrame(Y, columns=["AF", "I-AVB", "STE"])
    seen = []
    ovr = OneVsRest("lgbm").fit(df, Ydf, progress=lambda i, k, c: seen.append((i, k, c)))
    assert seen == [(1, 3, "AF"), (2, 3, "I-AVB"), (3, 3, "STE")]
    assert list(ovr.classes_) == ["AF", "I-AVB", "STE"]
    assert list(ovr.feature_names_in_) == names
    P = ovr.predict_proba(df)
    shuffled = df[names[::-1]].assign(extra=1.0)
    np.testing.assert_array_equal(ovr.predict_proba(shuffled), P)
    np.testing.assert_array_equal(ovr.predict_proba(X), P)          # same width, numpy
    with pytest.raises(ValueError, match="V3__expert__f3"):
        ovr.predict_proba(df.drop(columns=[names[3]]))
    with pytest.raises(ValueError, match="features"):
        ovr.predict_proba(X[:, :10])


def test_inputs_checked_and_infinities_are_missing(data):
    X, Y = data
    with pytest.raises(ValueError, match="0/1"):
        OneVsRest("xgb").fit(X, Y * 2)
    with pytest.raises(ValueError, match="unknown model"):
        OneVsRest("svm").fit(X, Y)
    Xi = X.copy()
    Xi[Xi > 2.5] = np.inf
    Xn = np.where(np.isinf(Xi), np.nan, Xi)
    ovr = OneVsRest("lr").fit(Xi, Y)
    np.testing.assert_array_equal(ovr.predict_proba(Xi), ovr.predict_proba(Xn))
    assert clone(OneVsRest("xgb", params={"max_depth": 3})).get_params()["params"] == {"max_depth": 3}
    one = np.zeros_like(Y)
    one[0, 0] = one[:, 1] = 1                 # a single positive: no stratified validation split
    assert OneVsRest("mlp").fit(X, one).constant_ == {1: 1.0, 2: 0.0}


def test_params_override_and_unknown_param_refused():
    assert make_binary("xgb", {"max_depth": 6}).get_params()["max_depth"] == 6
    assert make_binary("lr", {"C": 1.0}, preset="seed")[-1].C == 1.0
    assert make_binary("mlp", preset="seed")[-1].hidden_layer_sizes == (100, 50)
    rf = make_binary("rf", preset="seed", seed=3, n_jobs=2)
    assert (rf.n_estimators, rf.max_depth, rf.random_state, rf.n_jobs) == (300, 10, 3, 2)
    with pytest.raises(ValueError, match=r"--param max_dept\b.*valid: .*max_depth"):
        make_binary("xgb", {"max_dept": 3})
    with pytest.raises(ValueError, match="--param num_leaves"):
        OneVsRest("rf", params={"num_leaves": 3}).fit(*make_data(n=50))


def test_parse_params():
    assert parse_params(["max_depth=6", "learning_rate=0.1", "class_weight=balanced",
                         "early_stopping=false", "max_features=None", "hidden_layer_sizes=256,128",
                         "alpha=1e-3"]) == {
        "max_depth": 6, "learning_rate": 0.1, "class_weight": "balanced",
        "early_stopping": False, "max_features": None, "hidden_layer_sizes": (256, 128),
        "alpha": 1e-3}
    assert isinstance(parse_params(["n=6"])["n"], int)
    assert parse_params(None) == {}
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_params(["max_depth"])


# -- persistence ---------------------------------------------------------------------------------

RELOAD = r"""
import json, pickle, sys
import numpy as np
def refuse(*a, **k):
    raise AssertionError("unpickling attempted")
pickle.load = pickle.loads = refuse
import joblib
joblib.load = refuse
from ecgfeat.models import load_ovr
root = sys.argv[1]
X = np.load(root + "/X.npy")
for model in sys.argv[2:]:
    manifest = json.load(open(f"{root}/{model}/manifest.json"))
    np.save(f"{root}/{model}/P_reloaded.npy", load_ovr(f"{root}/{model}", manifest).predict_proba(X))
"""


@pytest.fixture(scope="module")
def saved(tmp_path_factory, data):
    """Every model fitted (DataFrame X, named classes) and saved: {model: (folder, manifest, P)}."""
    X, Y = data
    root = tmp_path_factory.mktemp("models")
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    out = {}
    for model in MODELS:
        ovr = OneVsRest(model, params=FAST.get(model)).fit(df, pd.DataFrame(Y, columns=list("abc")))
        manifest = save_ovr(ovr, root / model)
        (root / model / "manifest.json").write_text(json.dumps(manifest))
        out[model] = (root / model, manifest, ovr.predict_proba(X))
    np.save(root / "X.npy", X)
    return root, out


def test_reload_in_fresh_process_is_bit_identical(saved):
    root, models = saved
    subprocess.run([sys.executable, "-c", RELOAD, str(root), *models], check=True, timeout=120)
    for model, (folder, manifest, P) in models.items():
        kinds = [e["kind"] for e in manifest["estimators"]]
        assert kinds == [{"xgb": "xgb", "lgbm": "lgbm"}.get(model, "skops")] * 2 + ["constant"]
        assert manifest["classes"] == ["a", "b", "c"] and manifest["feature_names"][0] == "f0"
        np.testing.assert_array_equal(np.load(folder / "P_reloaded.npy"), P, err_msg=model)


def _copy(folder: Path, dest: Path) -> Path:
    dest.mkdir()
    for f in folder.glob("class_*"):
        (dest / f.name).write_bytes(f.read_bytes())
    return dest


@pytest.mark.parametrize("model", ["xgb", "lgbm", "gbm"])
def test_tampered_file_refused(saved, tmp_path, model):
    folder, manifest, _ = saved[1][model]
    folder = _copy(folder, tmp_path / "m")
    target = folder / manifest["estimators"][0]["file"]
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    target.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError) as err:
        load_ovr(folder, manifest)
    msg = str(err.value)
    assert target.name in msg and "\n" not in msg
    assert "sha256 mismatch, the model file was modified; refusing to load" in msg


class Evil:
    """Unpickling this creates the marker file: a stand-in for arbitrary code."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _skops_naming(path: Path, module: str, name: str) -> None:
    """Rewrites a real skops file so its estimator node names ``module.name`` (e.g. os.system)."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}

    def walk(node):
        if isinstance(node, dict):
            if node.get("__class__") == "LogisticRegression":
                node["__class__"], node["__module__"] = name, module
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    schema = json.loads(members["schema.json"])
    walk(schema)
    members["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)


@pytest.mark.parametrize("model,payload", [
    ("xgb", "pickle"), ("lgbm", "pickle"), ("lr", "pickle"), ("rf", "pickle"),
    ("lr", "skops-evil"), ("lr", "skops-os.system"),
])
def test_crafted_file_with_matching_sha256_is_refused_and_never_run(saved, tmp_path, model,
                                                                   payload):
    folder, manifest, _ = saved[1][model]
    folder = _copy(folder, tmp_path / "m")
    marker = tmp_path / "pwned"
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(Evil(proof)))       # the payload is live: unpickling runs it
    assert proof.exists()
    manifest = json.loads(json.dumps(manifest))
    entry = manifest["estimators"][0]
    target = folder / entry["file"]
    if payload == "pickle":
        target.write_bytes(pickle.dumps(Evil(marker)))
    elif payload == "skops-evil":
        import skops.io as sio
        sio.dump(Evil(marker), target)
    else:
        _skops_naming(target, "os", "system")
    entry["sha256"] = hashlib.sha256(target.read_bytes()).hexdigest()
    with pytest.raises(ModelFileError, match=rf"{target.name}: .*refusing to load") as err:
        load_ovr(folder, manifest)
    assert not marker.exists()
    if payload == "skops-evil":
        assert "untrusted type" in str(err.value) and "Evil" in str(err.value)
    if payload == "skops-os.system":
        assert "untrusted type os.system" in str(err.value)


def _rewrite(folder: Path, manifest: dict, edit) -> dict:
    """Applies ``edit`` to the first estimator's file and re-signs it in a manifest copy."""
    manifest = json.loads(json.dumps(manifest))
    entry = manifest["estimators"][0]
    target = folder / entry["file"]
    target.write_bytes(edit(target.read_bytes()))
    entry["sha256"] = hashlib.sha256(target.read_bytes()).hexdigest()
    return manifest


def _skops_edit(model: str, scratch: Path):
    """An editor of a skops file that points the first tree's root split at feature 10**6."""
    import skops.io as sio

    def edit(raw: bytes) -> bytes:
        path = scratch / "edit.skops"
        try:
            path.write_bytes(raw)
            est = sio.load(path, trusted=sio.get_untrusted_types(file=path))
            if model == "rf":
                tree = est.estimators_[0].tree_
                state = tree.__getstate__()
                state["nodes"]["feature"][0] = 10**6
                tree.__setstate__(state)
            else:
                est._predictors[0][0].nodes["feature_idx"][0] = 10**6
            sio.dump(est, path)
            return path.read_bytes()
        finally:
            path.unlink(missing_ok=True)
    return edit


@pytest.mark.parametrize("model", ["xgb", "lgbm", "rf", "gbm"])
def test_out_of_range_tree_indices_refused(saved, tmp_path, model):
    """A well-formed file whose tree reads feature 10**6 would crash predict: refused at load."""
    folder, manifest, _ = saved[1][model]
    folder = _copy(folder, tmp_path / "m")
    if model == "xgb":
        def edit(raw: bytes) -> bytes:
            doc = json.loads(raw)
            doc["learner"]["gradient_booster"]["model"]["trees"][0]["split_indices"][0] = 10**6
            return json.dumps(doc).encode()
        manifest = _rewrite(folder, manifest, edit)
    elif model in ("rf", "gbm"):
        manifest = _rewrite(folder, manifest, _skops_edit(model, tmp_path))
    else:
        def edit(raw: bytes) -> bytes:
            text = raw.decode()
            start = text.index("split_feature=") + len("split_feature=")
            end = text.index(" ", start)
            return (text[:start] + "1000000" + text[end:]).encode()
        manifest = _rewrite(folder, manifest, edit)
    with pytest.raises(ModelFileError, match="out-of-range"):
        load_ovr(folder, manifest)


def test_manifest_cannot_point_outside_the_folder(saved, tmp_path):
    folder, manifest, _ = saved[1]["lr"]
    manifest = json.loads(json.dumps(manifest))
    manifest["estimators"][0]["file"] = "../lr/class_0.skops"
    with pytest.raises(ModelFileError, match="not a model file name"):
        load_ovr(folder, manifest)


# -- the per-split classifier of `ecgfeat train`: MultiLabelThresholdClassifier of a zoo model ------

@pytest.mark.parametrize("model", MODELS)
def test_threshold_classifier_of_a_zoo_model_saves_as_data_on_its_kept_columns(data, model, tmp_path):
    """What train saves: the per-class models on the columns they see (all-NaN column 7 dropped),
    loading back (no pickle) to the same probabilities; the constant class as a manifest entry."""
    from ecgfeat.models.threshold import MultiLabelThresholdClassifier

    X, Y = data
    names = [f"f{i}" for i in range(X.shape[1])]
    df = pd.DataFrame(X, columns=names)
    clf = MultiLabelThresholdClassifier(make_binary(model, FAST.get(model), seed=2))
    clf.fit(df.iloc[:200], pd.DataFrame(Y[:200], columns=list("abc")), X_val=df.iloc[200:250], Y_val=Y[200:250])
    manifest = save_ovr(clf, tmp_path / "m", params=FAST.get(model), preset="default", seed=2)
    assert manifest["model"] == model and manifest["seed"] == 2 and manifest["classes"] == ["a", "b", "c"]
    assert manifest["n_features"] == 39 and manifest["feature_names"] == names[:7] + names[8:]
    assert [e["kind"] for e in manifest["estimators"]][2] == "constant"
    loaded = load_ovr(tmp_path / "m", json.loads(json.dumps(manifest)))
    np.testing.assert_array_equal(loaded.predict_proba(df[manifest["feature_names"]]), clf.predict_proba(df))


def test_zoo_models_are_named_and_other_estimators_are_not_saved(data, tmp_path):
    from sklearn.linear_model import LogisticRegression

    from ecgfeat.models.threshold import MultiLabelThresholdClassifier
    from ecgfeat.models.zoo import model_name

    assert [model_name(make_binary(m)) for m in MODELS] == list(MODELS)
    X, Y = data
    clf = MultiLabelThresholdClassifier(LogisticRegression()).fit(np.nan_to_num(X), Y)
    with pytest.raises(ValueError, match="LogisticRegression: not an estimator of the zoo"):
        save_ovr(clf, tmp_path / "m")       # a bare LogisticRegression lacks the zoo's imputer: not the lr model


def test_one_vs_rest_corner_cases_fit_as_the_zoo_needs(data):
    """A column with no value (gbm's binner) and a class with a single positive (mlp's stratified
    early-stopping split) crash the bare estimators; the classifier fits them (zoo.fit_binary)."""
    from ecgfeat.models.threshold import MultiLabelThresholdClassifier

    X, Y = data
    with pytest.raises(ValueError):
        make_binary("gbm").fit(X, Y[:, 0])                  # column 7 is NaN everywhere
    gbm = MultiLabelThresholdClassifier(make_binary("gbm"), drop_empty=False).fit(X, Y, X_val=X, Y_val=Y)
    assert gbm.columns_.all() and gbm.estimators_[0].n_features_in_ == 40
    np.testing.assert_array_equal(gbm.predict_proba(X), gbm.predict_proba(np.where(np.isnan(X), np.nan, X)))
    one = np.zeros_like(Y)
    one[0, 0] = one[:, 1] = 1
    template = make_binary("mlp")
    with pytest.raises(ValueError):
        clone(template).fit(np.nan_to_num(X), one[:, 0])
    mlp = MultiLabelThresholdClassifier(template).fit(X, one, X_val=X, Y_val=one)
    assert mlp.estimators_[0][-1].early_stopping is False and template[-1].early_stopping is True
    assert [repr(e) for e in mlp.estimators_[1:]] == ["ConstantProba(1.0)", "ConstantProba(0.0)"]


@pytest.mark.parametrize("model", ["lr", "mlp", "gbm"])
def test_float32_features_are_fitted_in_float32_as_one_vs_rest_does(data, model):
    """The classifier keeps float32 input (the store's dtype): on the same columns its models are
    the OneVsRest ones bit for bit (lr and mlp standardise in the input's precision)."""
    from ecgfeat.models.threshold import MultiLabelThresholdClassifier

    X, Y = data
    keep = ~np.isnan(X).all(axis=0)
    clf = MultiLabelThresholdClassifier(make_binary(model)).fit(X, Y, X_val=X[:50], Y_val=Y[:50])
    ovr = OneVsRest(model).fit(X[:, keep], Y)
    np.testing.assert_array_equal(clf.predict_proba(X), ovr.predict_proba(X[:, keep]))
    as64 = MultiLabelThresholdClassifier(make_binary(model)).fit(X.astype(np.float64), Y, X_val=X[:50], Y_val=Y[:50])
    if model != "gbm":          # HistGradientBoosting bins in float64 whatever it is given
        assert not np.array_equal(as64.predict_proba(X), clf.predict_proba(X))

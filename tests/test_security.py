"""Models, configs, stores and datasets from elsewhere are data, never code, and never a way out
of their folder.

Asserted elsewhere (not repeated here):
- tests/test_models.py: a pickle or a crafted skops file (a payload creating a marker file, an
  `os.system` node) in place of an xgb / lgbm / lr / rf estimator file, with its sha256 re-signed,
  is refused naming the file and never run; a modified file is refused by its sha256; out-of-range
  tree indices are refused; a manifest naming `../lr/class_0.skops` is refused; a fresh process
  reloads the models with `pickle.load` and `joblib.load` booby-trapped.
- tests/test_cnn.py: a changed `network.pt` is refused by its sha256, a pickled one (hash re-signed)
  is refused by torch's `weights_only=True` loader.
- tests/test_train.py: `ecgfeat predict` with a tampered model file exits 1 naming the file.
- tests/test_readers.py and tests/corpus: a WFDB header naming `../x.dat` is an error entry.

Here: the same refusal for every file a loader reads (class_0.skops, network.pt, config.json,
metrics.json, a cnn checkpoint, a signal-cache part) through the entry points a user runs, with
the payload's marker file never created; config.json naming a network file outside the model
folder or a symlinked model file; the package source has no unpickling call at all; a feature
store manifest naming `..` or absolute paths, or symlinks leading out of the store, are refused and
never read, written or deleted through; Parquet files carrying a pickled Arrow extension type
(CVE-2023-47248) are read as data; WFDB / PTB-XL signal paths that leave the dataset folder.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ecgfeat.cli import app
from ecgfeat.models.persist import ModelFileError
from ecgfeat.store import FeatureStore, RecordResult, StoreError

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()


class Evil:
    """Unpickling this creates the marker file: a stand-in for arbitrary code."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _payload(marker: Path, proof: Path) -> bytes:
    """A pickle that creates `marker`, after showing on `proof` that such a pickle does run."""
    pickle.loads(pickle.dumps(Evil(proof)))
    assert proof.exists()
    return pickle.dumps(Evil(marker))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line_error(res, *needles) -> str:
    assert res.exit_code == 1, res.output
    line = res.output.strip()
    assert len(line.splitlines()) == 1, line
    for n in needles:
        assert str(n) in line, (n, line)
    return line


# ----------------------------------------------------------------------------- model folders

@pytest.fixture
def record(tmp_path, ecg) -> Path:
    return ecg.write_wfdb(tmp_path / "rec", "r1", ecg.sines(12, 500, 10), 500)


@pytest.fixture(scope="module")
def lr_model(tmp_path_factory) -> Path:
    """A real lr model folder as `train` writes it (config.json + model/class_<k>.skops)."""
    from ecgfeat.models import OneVsRest
    from ecgfeat.models.persist import save_ovr

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 4)), columns=[f"all__expert__f{i}" for i in range(4)])
    Y = pd.DataFrame({"AF": (X.iloc[:, 0] > 0).astype(int), "Normal": (X.iloc[:, 1] > 0).astype(int)})
    ovr = OneVsRest("lr").fit(X, Y)
    folder = tmp_path_factory.mktemp("lr") / "m"
    manifest = save_ovr(ovr, folder / "model")
    config = {"model": "lr", "name": "m", "classes": ["AF", "Normal"], "families": ["expert"],
              "feature_names": list(X.columns), "thresholds": {"AF": 0.5, "Normal": 0.5}, "estimators": manifest}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="module")
def cnn_model(tmp_path_factory) -> Path:
    """A cnn model folder (an untrained ResNet-34-1D is enough to test loading)."""
    from ecgfeat.deep import CNNClassifier
    from ecgfeat.deep.persist import save_cnn

    est = CNNClassifier()
    est.build(2)
    folder = tmp_path_factory.mktemp("cnn") / "m"
    meta = save_cnn(est, folder / "model")
    config = {"model": "cnn", "name": "m", "classes": ["AF", "Normal"], "thresholds": {"AF": 0.5, "Normal": 0.5},
              "network": meta}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def _copy(folder: Path, dest: Path) -> Path:
    return Path(shutil.copytree(folder, dest))


def _resign(folder: Path, target: Path) -> None:
    """The attacker re-signs the file in config.json too (a sha256 only proves the file is the one named)."""
    config = json.loads((folder / "config.json").read_text())
    if config["model"] == "cnn":
        config["network"]["sha256"] = _sha(target)
    else:
        for e in config["estimators"]["estimators"]:
            if e.get("file") == target.name:
                e["sha256"] = _sha(target)
    (folder / "config.json").write_text(json.dumps(config))


def test_untouched_model_folders_load(lr_model, cnn_model, record):
    """The fixtures are sound: what the refusals below refuse is the tampering, nothing else."""
    res = runner.invoke(app, ["predict", str(record), "--model", str(lr_model), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output.strip().splitlines()[-1])["records"][0]["record"] == "r1"
    from ecgfeat.predict import load_model
    config, est = load_model(cnn_model)
    assert est.n_outputs_ == 2


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")   # torch, about the crafted file
@pytest.mark.parametrize("case", ["class_0.skops", "network.pt", "network.pt in torch's zip format", "config.json"])
def test_crafted_pickle_in_a_model_folder_is_refused_by_predict_and_never_run(case, lr_model, cnn_model, record, tmp_path):
    marker, proof = tmp_path / "pwned", tmp_path / "proof"
    payload = _payload(marker, proof)
    if case == "class_0.skops":
        folder = _copy(lr_model, tmp_path / "m")
        target = folder / "model" / "class_0.skops"
        target.write_bytes(payload)
        _resign(folder, target)
    elif case == "network.pt":
        folder = _copy(cnn_model, tmp_path / "m")
        target = folder / "model" / "network.pt"
        target.write_bytes(payload)
        _resign(folder, target)
    elif case.startswith("network.pt in"):
        import torch
        folder = _copy(cnn_model, tmp_path / "m")
        target = folder / "model" / "network.pt"
        torch.save({"conv1.weight": Evil(proof.with_name("proof2"))}, target)
        torch.load(target, weights_only=False)                 # the unsafe loader would run it
        assert proof.with_name("proof2").exists()
        torch.save({"conv1.weight": Evil(marker)}, target)
        _resign(folder, target)
    else:
        folder = _copy(lr_model, tmp_path / "m")
        target = folder / "config.json"
        target.write_bytes(payload)
    res = runner.invoke(app, ["predict", str(record), "--model", str(folder)])
    _one_line_error(res, target)
    assert not marker.exists()


def test_crafted_metrics_and_config_json_are_skipped_by_compare(lr_model, tmp_path):
    from ecgfeat.report.gather import find_models

    marker, proof = tmp_path / "pwned", tmp_path / "proof"
    payload = _payload(marker, proof)
    models = tmp_path / "models"
    for name, doc in (("a", "metrics.json"), ("b", "config.json")):
        folder = _copy(lr_model, models / name)
        (folder / "metrics.json").write_text(json.dumps({"model": name}))
        pd.DataFrame({"record_id": ["r1"], "tested": [True]}).to_parquet(folder / "predictions.parquet")
        (folder / doc).write_bytes(payload)
    runs, skipped = find_models(models)
    assert runs == [] and [Path(s["folder"]).name for s in skipped] == ["a", "b"]
    assert "metrics.json is not valid JSON" in skipped[0]["reason"]
    assert not marker.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_cnn_checkpoint_with_a_crafted_pickle_is_refused_naming_it(tmp_path):
    """`train --model cnn --resume` reads models/.<name>.ckpt/split-<k>/state.pt."""
    import torch

    from ecgfeat.deep import CNNClassifier
    from ecgfeat.deep.estimator import _Checkpoint

    marker, proof = tmp_path / "pwned", tmp_path / "proof"
    net = CNNClassifier().build(2)
    opt = torch.optim.Adam(net.parameters())
    ckpt = _Checkpoint(tmp_path / "split-1")
    ckpt.save(net, opt, 1, 0.5, 1, 0, [{"epoch": 1}], None, False)
    assert ckpt.load(net, opt)["epoch"] == 1                     # a real checkpoint loads
    for payload in (_payload(marker, proof), None):
        if payload is None:
            torch.save({"epoch": 2, "model": Evil(marker)}, ckpt.path)
        else:
            ckpt.path.write_bytes(payload)
        with pytest.raises(ModelFileError, match=rf"{ckpt.path}: not a training checkpoint .*refusing to load"):
            ckpt.load(net, opt)
        assert not marker.exists()


@pytest.mark.parametrize("name", ["../outside.pt", "OUTSIDE_ABSOLUTE", "model/../../outside.pt"])
def test_cnn_config_cannot_name_a_network_file_outside_the_model_folder(name, cnn_model, tmp_path):
    from ecgfeat.predict import load_model

    folder = _copy(cnn_model, tmp_path / "m")
    outside = tmp_path / "outside.pt"
    shutil.copy(folder / "model" / "network.pt", outside)        # a valid network: if followed, it would load
    config = json.loads((folder / "config.json").read_text())
    config["network"]["file"] = str(outside) if name == "OUTSIDE_ABSOLUTE" else name
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model" / "network.pt").unlink()
    with pytest.raises(ModelFileError, match="config.json names the network file .*refusing to load"):
        load_model(folder)


@pytest.mark.parametrize("kind", ["lr", "cnn"])
def test_a_model_file_symlinked_out_of_the_folder_is_refused(kind, lr_model, cnn_model, tmp_path):
    from ecgfeat.predict import load_model

    folder = _copy(lr_model if kind == "lr" else cnn_model, tmp_path / "m")
    target = folder / "model" / ("class_0.skops" if kind == "lr" else "network.pt")
    outside = tmp_path / "elsewhere" / target.name
    outside.parent.mkdir()
    shutil.move(target, outside)
    os.symlink(outside, target)                                  # same bytes, same sha256: only the link differs
    with pytest.raises(ModelFileError, match=rf"{target}: is a symlink; refusing to load"):
        load_model(folder)


def test_config_json_without_the_loader_keys_is_refused_naming_it(lr_model, tmp_path):
    from ecgfeat.predict import load_model

    folder = _copy(lr_model, tmp_path / "m")
    for doc in ([1, 2], {"model": "lr"}, {"model": "cnn", "network": "x"}):
        (folder / "config.json").write_text(json.dumps(doc))
        with pytest.raises(ModelFileError, match=r"config.json: not an ecgfeat model config"):
            load_model(folder)


def test_signal_cache_part_holding_pickled_objects_is_refused(tmp_path):
    from ecgfeat.deep import SignalCache

    marker, proof = tmp_path / "pwned", tmp_path / "proof"
    _payload(marker, proof)
    cache = SignalCache(tmp_path / "cache", "ds", 100)
    cache.dir.mkdir(parents=True)
    pd.DataFrame({"record_id": ["r1"], "source_hash": ["h"], "signature": ["s"], "part": pd.array([0], "Int64"),
                  "offset": pd.array([0], "Int64"), "length": pd.array([1], "Int64"), "error": [None]}
                 ).to_parquet(cache.dir / "index.parquet", index=False)
    part = cache.dir / "part-00000.npy"
    np.save(part, np.array([[Evil(marker)]], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=rf"{part}: not a signal-cache part"):
        cache.open()
    assert not marker.exists()
    np.save(part, np.zeros((12, 5), np.float16))                 # a real part opens
    sig, _ = cache.open()
    assert sig.window(0, 0, 1).shape == (12, 1)


# ----------------------------------------------------------------------------- the package source

FORBIDDEN_CALLS = {
    "pickle.load", "pickle.loads", "pickle.Unpickler", "cPickle.load", "cPickle.loads", "_pickle.load",
    "_pickle.loads", "joblib.load", "pd.read_pickle", "pandas.read_pickle", "dill.load", "dill.loads",
    "cloudpickle.load", "cloudpickle.loads", "shelve.open", "marshal.load", "marshal.loads", "yaml.load",
    "yaml.unsafe_load", "yaml.full_load", "pa.PyExtensionType", "pyarrow.PyExtensionType",
}
FORBIDDEN_IMPORTS = {"pickle": {"load", "loads", "Unpickler"}, "joblib": {"load"}, "dill": None, "cloudpickle": None,
                     "shelve": None, "marshal": None, "_pickle": None, "cPickle": None}


def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _kw(call: ast.Call, name: str):
    for k in call.keywords:
        if k.arg == name:
            return k.value.value if isinstance(k.value, ast.Constant) else "<expression>"
    return None


def unpickling_calls(source: str, filename: str = "<src>") -> list[str]:
    """Every call in `source` that can unpickle or run code from data: pickle / joblib / dill /
    shelve / marshal loads, pd.read_pickle, yaml.load, torch.load without weights_only=True,
    np.load with allow_pickle, a skops load trusting everything, eval / exec / compile, and
    imports of those loaders."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ImportFrom) and node.module:
            bad = FORBIDDEN_IMPORTS.get(node.module.split(".")[0], ())
            for alias in node.names:
                if bad is None or (bad and alias.name in bad):
                    found.append(f"{where}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FORBIDDEN_IMPORTS and FORBIDDEN_IMPORTS[alias.name.split(".")[0]] is None:
                    found.append(f"{where}: import {alias.name}")
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            last = name.rsplit(".", 1)[-1]
            if name in FORBIDDEN_CALLS or last == "read_pickle":
                found.append(f"{where}: {name}(...)")
            elif isinstance(node.func, ast.Name) and name in ("eval", "exec", "compile", "__import__"):
                if name != "__import__" or not isinstance(node.args[0], ast.Constant):
                    found.append(f"{where}: {name}(...)")
            elif name in ("torch.load",) and _kw(node, "weights_only") is not True:
                found.append(f"{where}: torch.load(...) without weights_only=True")
            elif name in ("np.load", "numpy.load") and _kw(node, "allow_pickle") not in (None, False):
                found.append(f"{where}: {name}(..., allow_pickle={_kw(node, 'allow_pickle')})")
            elif last == "load" and name.split(".")[0] in ("sio", "skops") and _kw(node, "trusted") is True:
                found.append(f"{where}: {name}(..., trusted=True)")
    return found


def test_the_scanner_finds_each_kind_of_unpickling_call():
    bad = """
import pickle, dill
from joblib import load
from pickle import loads as l
pickle.load(f); pickle.loads(b); pd.read_pickle(p); df.read_pickle(p); joblib.load(p)
torch.load(p); torch.load(p, weights_only=False); torch.load(p, weights_only=flag)
np.load(p, allow_pickle=True); numpy.load(p, allow_pickle=x); sio.load(p, trusted=True)
eval(s); exec(s); compile(s, "f", "exec"); __import__(name); yaml.load(s); marshal.loads(b)
"""
    found = unpickling_calls(bad)
    assert len(found) == 20, "\n".join(found)
    ok = """
import json, numpy as np
from pickle import dumps
torch.load(p, weights_only=True, map_location="cpu"); np.load(p, mmap_mode="r"); np.load(p, allow_pickle=False)
net.eval(); ast.literal_eval(s); __import__("sys"); sio.load(p, trusted=list(types)); re.compile("x")
"""
    assert unpickling_calls(ok) == []


def test_package_source_never_unpickles_or_evaluates():
    files = sorted((REPO / "ecgfeat").rglob("*.py"))
    assert len(files) > 40
    found = [hit for f in files for hit in unpickling_calls(f.read_text(), str(f.relative_to(REPO)))]
    assert found == [], "\n".join(found)


# ----------------------------------------------------------------------------- the feature store

V = {"expert": "e1"}


def _result(i: int) -> RecordResult:
    return RecordResult(f"r{i}", f"h{i}", f"s{i}", {"path": f"/d/r{i}", "labels__cpsc9": "AF"},
                        {"expert": {"I__expert__x": float(i)}})


@pytest.fixture
def stores(tmp_path):
    """A good store A, and B, a copy of it to be made hostile."""
    a = tmp_path / "A"
    FeatureStore(a).write("ds", [_result(i) for i in range(3)], V)
    b = Path(shutil.copytree(a, tmp_path / "B"))
    return a, b


def _digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): _sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _edit_manifest(root: Path, edit) -> None:
    m = json.loads((root / "manifest.json").read_text())
    edit(m)
    (root / "manifest.json").write_text(json.dumps(m))


HOSTILE = {
    "dataset name ..": lambda m, a: m["datasets"].__setitem__("..", m["datasets"].pop("ds")),
    "dataset name ../A/ds": lambda m, a: m["datasets"].__setitem__("../A/ds", m["datasets"].pop("ds")),
    "absolute dataset path": lambda m, a: m["datasets"].__setitem__(str(a / "ds"), m["datasets"].pop("ds")),
    "table ../../A/ds/expert": lambda m, a: m["datasets"]["ds"]["tables"].__setitem__(
        "../../A/ds/expert", m["datasets"]["ds"]["tables"].pop("expert")),
    "part ../../../A/ds/expert/part": lambda m, a: m["datasets"]["ds"]["tables"].__setitem__(
        "expert", ["../../../A/ds/expert/part-000001.parquet"]),
    "absolute part path": lambda m, a: m["datasets"]["ds"]["tables"].__setitem__(
        "expert", [str(a / "ds" / "expert" / "part-000001.parquet")]),
    "hidden part name": lambda m, a: m["datasets"]["ds"]["tables"].__setitem__("expert", [".part-000001.parquet"]),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_manifest_paths_are_refused_not_followed(case, stores):
    a, b = stores
    before = _digest(a)
    (b / "ds").rename(b / "gone")        # B's own parts are gone: only a followed path could find data
    _edit_manifest(b, lambda m: HOSTILE[case](m, a))
    store = FeatureStore(b)
    for op in (store.datasets, lambda: store.read("ds"), lambda: store.status("ds"),
               lambda: store.write("ds", [_result(9)], V), lambda: store.compact("ds")):
        with pytest.raises(StoreError, match=rf"{b / 'manifest.json'}: refusing manifest: .*not a plain"):
            op()
    res = runner.invoke(app, ["store", "ls", "--store", str(b)])
    _one_line_error(res, b / "manifest.json", "refusing manifest")
    assert _digest(a) == before          # nothing outside B was read into B, written or deleted


def test_symlinked_table_folder_out_of_the_store_is_refused(stores):
    a, b = stores
    before = _digest(a)
    shutil.rmtree(b / "ds" / "expert")
    os.symlink(a / "ds" / "expert", b / "ds" / "expert")        # same bytes: only the link is wrong
    store = FeatureStore(b)
    for op in (lambda: store.read("ds"), lambda: store.status("ds"), lambda: store.summary("ds"),
               lambda: store.write("ds", [_result(9)], V), lambda: store.compact("ds")):
        with pytest.raises(StoreError, match=rf"{b / 'ds' / 'expert'}: symlink to .*outside the store"):
            op()
    assert _digest(a) == before


def test_writer_never_deletes_through_an_unlisted_symlink(stores, tmp_path):
    """A folder the manifest does not list is cleaned as orphan parts, but never through a link."""
    a, b = stores
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "part-000001.parquet").write_bytes(b"precious")
    (outside / ".part-000002.parquet.tmp-1").write_bytes(b"precious too")
    os.symlink(outside, b / "ds" / "linked")
    (b / "ds" / "orphan").mkdir()
    (b / "ds" / "orphan" / "part-000007.parquet").write_bytes(b"junk of a killed write")
    store = FeatureStore(b)
    store.write("ds", [_result(9)], V)
    store.compact("ds")
    assert sorted(p.name for p in outside.iterdir()) == [".part-000002.parquet.tmp-1", "part-000001.parquet"]
    assert not (b / "ds" / "orphan" / "part-000007.parquet").exists()   # the cleaning itself works
    assert len(store.read("ds").X) == 4


def _pickled_extension_table(marker: Path, n: int = 1) -> pa.Table:
    """A column declaring the pickle-based `arrow.py_extension_type`: pyarrow < 14.0.1 unpickles
    its metadata on read (CVE-2023-47248)."""
    field = pa.field("evil", pa.binary(), metadata={b"ARROW:extension:name": b"arrow.py_extension_type",
                                                    b"ARROW:extension:metadata": pickle.dumps(Evil(marker))})
    return pa.Table.from_arrays([pa.array([b"x"] * n, pa.binary())], schema=pa.schema([field]))


def test_parquet_with_a_pickled_extension_type_is_read_as_data(stores, tmp_path):
    from ecgfeat.deep import SignalCache

    a, _ = stores
    marker = tmp_path / "pwned"
    part = a / "ds" / "records" / "part-000001.parquet"
    t = pq.read_table(part)
    evil = _pickled_extension_table(marker, t.num_rows)
    pq.write_table(t.append_column(evil.schema.field("evil"), evil.column("evil")), part)
    meta = pq.read_schema(part).field("evil").metadata
    assert meta[b"ARROW:extension:name"] == b"arrow.py_extension_type"     # the crafted field is there
    store = FeatureStore(a)
    assert len(store.read("ds").X) == 3 and len(store.status("ds")) == 3
    store.compact("ds")
    cache = SignalCache(tmp_path / "cache", "ds", 100)
    cache.dir.mkdir(parents=True)
    pq.write_table(_pickled_extension_table(marker).append_column("record_id", pa.array(["r1"])),
                   cache.dir / "index.parquet")
    assert list(cache.index().index) == ["r1"]
    assert not marker.exists()


# ----------------------------------------------------------------------------- dataset folders

def _wfdb(root: Path, name: str, ecg) -> Path:
    return ecg.write_wfdb(root, name, ecg.sines(12, 500, 4), 500)


@pytest.mark.parametrize("name", ["/etc/passwd", "OUTSIDE_ABSOLUTE"])
def test_absolute_signal_file_name_in_a_header_is_refused(name, tmp_path, ecg):
    from ecgfeat.datasets import open_dataset
    from ecgfeat.record import RecordError

    ds_dir = tmp_path / "ds"
    _wfdb(ds_dir, "good", ecg)
    outside = _wfdb(tmp_path / "outside", "secret", ecg).with_suffix(".dat")   # a valid signal, if followed
    hea = _wfdb(ds_dir, "abs", ecg)
    target = str(outside) if name == "OUTSIDE_ABSOLUTE" else name
    hea.write_text(hea.read_text().replace("abs.dat", target))
    ds = open_dataset(ds_dir)
    refs = {r.record_id: r for r in ds.refs()}
    with pytest.raises(RecordError, match=rf"{hea}: signal file name '{target}' points outside the record's folder"):
        ds.read(refs["abs"])
    assert ds.read(refs["good"]).signal.shape[0] == 12


def test_symlink_inside_the_dataset_folder_is_read(tmp_path, ecg):
    from ecgfeat.datasets import open_dataset

    ds_dir = tmp_path / "ds"
    hea = _wfdb(ds_dir, "inner", ecg)
    (ds_dir / "store").mkdir()
    shutil.move(hea.with_suffix(".dat"), ds_dir / "store" / "inner.dat")
    os.symlink(Path("store") / "inner.dat", hea.with_suffix(".dat"))
    ds = open_dataset(ds_dir)
    assert ds.read(ds.refs()[0]).signal.shape[0] == 12


@pytest.mark.parametrize("which", ["signal file", "header"])
def test_symlink_leading_out_of_the_dataset_folder_is_refused(which, tmp_path, ecg):
    from ecgfeat.datasets import open_dataset
    from ecgfeat.record import RecordError

    ds_dir = tmp_path / "ds"
    _wfdb(ds_dir, "good", ecg)
    secret = _wfdb(tmp_path / "outside", "linked", ecg)
    if which == "signal file":
        hea = _wfdb(ds_dir, "linked", ecg)
        hea.with_suffix(".dat").unlink()
        os.symlink(secret.with_suffix(".dat"), hea.with_suffix(".dat"))
        link = hea.with_suffix(".dat")
    else:
        link = ds_dir / "linked.hea"
        os.symlink(secret, link)
        os.symlink(secret.with_suffix(".dat"), ds_dir / "linked.dat")
    ds = open_dataset(ds_dir)
    refs = {r.record_id: r for r in ds.refs()}
    errors = dict(ds.index_errors)
    if "linked" in refs:
        with pytest.raises(RecordError) as err:
            ds.read(refs["linked"])
        errors["linked"] = str(err.value)
    assert str(link) in errors["linked"] and "outside the dataset folder" in errors["linked"]
    assert ds.read(refs["good"]).signal.shape[0] == 12


SCP = (",description,diagnostic,rhythm,diagnostic_class\n"
       "NORM,normal ECG,1.0,,NORM\nSR,sinus rhythm,,1.0,\n")


@pytest.mark.parametrize("rel", ["../outside/secret", "OUTSIDE_ABSOLUTE", "records500/../../outside/secret"])
def test_ptbxl_filename_leaving_the_dataset_folder_is_an_error_entry(rel, tmp_path, ecg):
    from ecgfeat.datasets import open_dataset

    root = tmp_path / "ptbxl"
    _wfdb(root / "records500" / "00000", "00001_hr", ecg)
    secret = _wfdb(tmp_path / "outside", "secret", ecg)                  # a valid record, if followed
    rel = str(secret.with_suffix("")) if rel == "OUTSIDE_ABSOLUTE" else rel
    (root / "ptbxl_database.csv").write_text(
        "ecg_id,patient_id,age,sex,scp_codes,strat_fold,filename_lr,filename_hr\n"
        "1,1,60,0,\"{'NORM': 100.0, 'SR': 0.0}\",1,records100/00000/00001_lr,records500/00000/00001_hr\n"
        f"2,2,61,1,\"{{'NORM': 100.0, 'SR': 0.0}}\",2,x,{rel}\n")
    (root / "scp_statements.csv").write_text(SCP)
    ds = open_dataset(root)
    assert ds.format == "ptbxl" and [r.record_id for r in ds.refs()] == ["1"]
    assert dict(ds.index_errors) == {"2": f"{root / 'ptbxl_database.csv'} row ecg_id=2: bad filename_hr {rel!r}"}

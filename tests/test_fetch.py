"""`ecgfeat.datasets.fetch` against a local Range-capable HTTP server on 127.0.0.1 (no internet)."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import re
import socket
import tarfile
import threading
import urllib.parse
import zipfile
from pathlib import Path

import pytest

from ecgfeat.datasets.fetch import CATALOGUE, FetchError, Source, fetch, read_manifest


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves `server.root`; honours `Range: bytes=N-` unless `server.ignore_range`;
    `server.truncate` cuts each body after that many bytes (a dropped connection)."""

    def do_GET(self):
        srv = self.server
        rel = urllib.parse.unquote(urllib.parse.urlparse(self.path).path).lstrip("/")
        rng = self.headers.get("Range")
        srv.log.append((rel, rng))
        path = srv.root / rel
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        if rng and not srv.ignore_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", rng)[1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body if srv.truncate is None else body[: srv.truncate])

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    srv.root, srv.log, srv.ignore_range, srv.truncate = root, [], False, None
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


FILES = {  # a miniature PTB-XL layout
    "ptbxl_database.csv": b"ecg_id,patient_id,scp_codes,strat_fold\n1,1,\"{'NORM': 100.0}\",3\n",
    "scp_statements.csv": b",description,diagnostic_class\nNORM,normal ECG,NORM\n",
    "LICENSE.txt": b"CC BY 4.0\n",
    "example_physionet.py": b"print('not wanted')\n",
    "records100/00000/00001_lr.hea": b"00001_lr 12 100 1000\n",
    "records100/00000/00001_lr.dat": os.urandom(24_000),
    "records500/00000/00001_hr.hea": b"00001_hr 12 500 5000\n",
    "records500/00000/00001_hr.dat": os.urandom(120_000),
}
BIG = "records500/00000/00001_hr.dat"


def publish(root: Path, files: dict[str, bytes], manifest: dict[str, str] | None = None) -> None:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    lines = manifest if manifest is not None else {rel: sha(data) for rel, data in files.items()}
    (root / "SHA256SUMS.txt").write_text("".join(f"{h} {rel}\n" for rel, h in lines.items()))


def data_requests(srv) -> list[tuple[str, str | None]]:
    return [(rel, rng) for rel, rng in srv.log if rel != "SHA256SUMS.txt"]


WANTED = [r for r in FILES if r != "example_physionet.py"]


def test_full_fetch_via_mirror_matches_source(server, tmp_path):
    publish(server.root, FILES)
    got = []
    out = fetch("ptbxl", tmp_path / "data", mirror=server.url, progress=got.append)
    assert out == tmp_path / "data" / "ptbxl"
    for rel in WANTED:
        assert (out / rel).read_bytes() == FILES[rel], rel
    assert not (out / "example_physionet.py").exists()  # outside the catalogue's include
    assert not list(out.rglob("*.part"))
    assert sum(got) == sum(len(FILES[r]) for r in WANTED)
    assert all(rng is None for _, rng in data_requests(server))


def test_include_override_keeps_index_files(server, tmp_path):
    publish(server.root, FILES)
    out = fetch("ptbxl", tmp_path, mirror=server.url, include=("records500",))
    assert (out / BIG).read_bytes() == FILES[BIG]
    assert (out / "ptbxl_database.csv").exists() and (out / "scp_statements.csv").exists()
    assert not (out / "records100").exists()


def test_resume_sends_range_and_completes(server, tmp_path):
    publish(server.root, FILES)
    out = tmp_path / "ptbxl"
    half = len(FILES[BIG]) // 2
    (out / BIG).parent.mkdir(parents=True)
    (out / (BIG + ".part")).write_bytes(FILES[BIG][:half])
    got = []
    fetch("ptbxl", tmp_path, mirror=server.url, include=("records500/",), progress=got.append)
    assert (BIG, f"bytes={half}-") in server.log
    assert (out / BIG).read_bytes() == FILES[BIG]
    assert not (out / (BIG + ".part")).exists()
    small = sum(len(FILES[r]) for r in WANTED if not r.startswith("records"))
    assert sum(got) == small + len(FILES["records500/00000/00001_hr.hea"]) + len(FILES[BIG]) - half


def test_dropped_connection_leaves_part_and_rerun_resumes(server, tmp_path):
    publish(server.root, {BIG: FILES[BIG]})
    src = Source(name="one", base_url="http://unreachable.invalid/", subdir="one")
    server.truncate = 50_000
    with pytest.raises(FetchError, match="incomplete download of records500/00000/00001_hr.dat") as err:
        fetch(src, tmp_path, mirror=server.url)
    assert "\n" not in str(err.value)
    part = tmp_path / "one" / (BIG + ".part")
    assert part.stat().st_size == 50_000 and not (tmp_path / "one" / BIG).exists()
    server.truncate = None
    fetch(src, tmp_path, mirror=server.url)
    assert (BIG, "bytes=50000-") in server.log
    assert (tmp_path / "one" / BIG).read_bytes() == FILES[BIG]


def test_complete_files_are_not_downloaded_again(server, tmp_path):
    publish(server.root, FILES)
    fetch("ptbxl", tmp_path, mirror=server.url)
    first = len(data_requests(server))
    assert first == len(WANTED)
    (tmp_path / "ptbxl" / "LICENSE.txt").write_bytes(b"tampered")  # a wrong local file is replaced
    fetch("ptbxl", tmp_path, mirror=server.url)
    assert data_requests(server)[first:] == [("LICENSE.txt", None)]
    assert (tmp_path / "ptbxl" / "LICENSE.txt").read_bytes() == FILES["LICENSE.txt"]


def test_complete_part_answered_416_is_finalised(server, tmp_path):
    publish(server.root, {BIG: FILES[BIG]})
    out = tmp_path / "one"
    (out / BIG).parent.mkdir(parents=True)
    (out / (BIG + ".part")).write_bytes(FILES[BIG])
    fetch(Source(name="one", base_url="http://unreachable.invalid/"), tmp_path, mirror=server.url)
    assert (BIG, f"bytes={len(FILES[BIG])}-") in server.log
    assert (out / BIG).read_bytes() == FILES[BIG]


def test_server_ignoring_range_still_gives_the_right_file(server, tmp_path):
    publish(server.root, FILES)
    server.ignore_range = True
    out = tmp_path / "ptbxl"
    (out / BIG).parent.mkdir(parents=True)
    (out / (BIG + ".part")).write_bytes(FILES[BIG][:1000])
    fetch("ptbxl", tmp_path, mirror=server.url)
    assert (BIG, "bytes=1000-") in server.log  # asked, got a 200 with the whole body
    assert (out / BIG).read_bytes() == FILES[BIG]


def test_checksum_mismatch_names_file_and_hashes(server, tmp_path):
    publish(server.root, FILES)
    (server.root / BIG).write_bytes(b"corrupted on the server")
    with pytest.raises(FetchError) as err:
        fetch("ptbxl", tmp_path, mirror=server.url, workers=1)
    msg = str(err.value)
    assert BIG in msg and sha(FILES[BIG]) in msg and sha(b"corrupted on the server") in msg
    assert not (tmp_path / "ptbxl" / BIG).exists()
    assert not (tmp_path / "ptbxl" / (BIG + ".part")).exists()


@pytest.mark.parametrize("bad", ["../evil.txt", "/tmp/evil.txt", "records/../../evil.txt", "C:\\evil.txt"])
def test_path_escaping_manifest_entry_is_refused(server, tmp_path, bad):
    publish(server.root, FILES, manifest={"LICENSE.txt": sha(FILES["LICENSE.txt"]), bad: "0" * 64})
    with pytest.raises(FetchError, match="unsafe path"):
        fetch(Source(name="x", base_url="http://unreachable.invalid/"), tmp_path / "to", mirror=server.url)
    assert data_requests(server) == []
    assert not (tmp_path / "evil.txt").exists()


def test_read_manifest_formats():
    h = "a" * 64
    assert read_manifest(f"{h}  a/b.dat\n{h} *c.csv\n\n# note\n") == {"a/b.dat": h, "c.csv": h}
    with pytest.raises(FetchError, match="line 1"):
        read_manifest("nothex a.dat\n")


def make_zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in files.items():
            zf.writestr(rel, data)
    return buf.getvalue()


def make_targz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for rel, data in files.items():
            info = tarfile.TarInfo(rel)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


INNER = {"ds/REFERENCE.csv": b"Recording,First_label\nA0001,1\n", "ds/A0001.mat": os.urandom(30_000)}


@pytest.mark.parametrize("known", [True, False], ids=["sha256", "content-length"])
@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_archive_download_and_unpack(server, tmp_path, kind, known):
    blob = make_zip(INNER) if kind == "zip" else make_targz(INNER)
    (server.root / "pub").mkdir()
    (server.root / "pub" / f"bundle.{kind}").write_bytes(blob)
    entry = (f"pub/bundle.{kind}", sha(blob) if known else None, len(blob) if known else None)
    src = Source(name="arch", base_url="http://unreachable.invalid/", manifest="", archives=(entry,))
    out = fetch(src, tmp_path, mirror=server.url)
    for rel, data in INNER.items():
        assert (out / rel).read_bytes() == data
    n = len(server.log)
    fetch(src, tmp_path, mirror=server.url)  # verified + unpacked before: no request
    assert len(server.log) == n


def test_archive_checksum_mismatch(server, tmp_path):
    blob = make_zip(INNER)
    (server.root / "bundle.zip").write_bytes(blob)
    src = Source(name="arch", base_url="http://x.invalid/", manifest="", archives=(("bundle.zip", "0" * 64, None),))
    with pytest.raises(FetchError, match="checksum mismatch for bundle.zip"):
        fetch(src, tmp_path, mirror=server.url)
    assert not (tmp_path / "arch" / "bundle.zip").exists() and not (tmp_path / "arch" / "ds").exists()


def test_archive_with_escaping_member_is_refused(server, tmp_path):
    (server.root / "bad.zip").write_bytes(make_zip({"../escaped.txt": b"x"}))
    src = Source(name="arch", base_url="http://x.invalid/", manifest="", archives=(("bad.zip", None, None),))
    with pytest.raises(FetchError, match="unsafe path"):
        fetch(src, tmp_path / "to", mirror=server.url)
    assert not (tmp_path / "to" / "escaped.txt").exists()


def test_unreachable_mirror_is_a_one_line_fetch_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError) as err:
        fetch("cpsc2018", tmp_path, mirror=f"http://127.0.0.1:{port}/")
    assert f"http://127.0.0.1:{port}/SHA256SUMS.txt" in str(err.value) and "\n" not in str(err.value)


def test_missing_file_is_http_error(server, tmp_path):
    publish(server.root, FILES)
    (server.root / "LICENSE.txt").unlink()
    with pytest.raises(FetchError, match=r"LICENSE.txt: HTTP 404"):
        fetch("ptbxl", tmp_path, mirror=server.url)


def test_unknown_name_and_catalogue():
    with pytest.raises(FetchError, match="cpsc2018, ptbxl"):
        fetch("mitbih", Path("/nonexistent"))
    assert CATALOGUE["ptbxl"].base_url == "https://physionet.org/files/ptb-xl/1.0.3/"
    assert CATALOGUE["cpsc2018"].include == ("training/cpsc_2018/",)


def test_cpsc2018_returns_its_record_folder(server, tmp_path):
    files = {"training/cpsc_2018/g1/A0001.hea": b"A0001 12 500 5000\n#Dx: 426783006\n",
             "training/cpsc_2018/g1/A0001.mat": os.urandom(2000),
             "training/georgia/g1/E00001.hea": b"other set\n"}
    publish(server.root, files)
    out = fetch("cpsc2018", tmp_path, mirror=server.url)
    assert out == tmp_path / "cpsc2018" / "training" / "cpsc_2018"
    assert (out / "g1" / "A0001.mat").read_bytes() == files["training/cpsc_2018/g1/A0001.mat"]
    assert not (tmp_path / "cpsc2018" / "training" / "georgia").exists()

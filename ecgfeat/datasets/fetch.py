"""Download public ECG datasets: resumable, checksum-verified, unpacked.

A `Source` names where a dataset lives. Two routes:

* **manifest** - PhysioNet publishes `SHA256SUMS.txt` (`<sha256> <relative path>` per line) at the
  root of every project's files. `fetch` reads it, keeps the entries under the source's `include`
  prefixes (plus its `always` files), and downloads each file that is missing or whose hash differs.
* **archives** - `(relative_url, sha256 | None, size | None)` entries downloaded and unpacked
  (zip / tar.*), verified by sha256 when known, else by size (known, or from the server's headers),
  and by `ZipFile.testzip()`.

Every download goes to `<file>.part` first and resumes from that file's size with an HTTP
`Range: bytes=N-` request (a server that ignores Range and answers 200 restarts it from zero; 416
means it is already complete). A file is renamed into place only after its checksum matches. A
network error raises `FetchError` (one line: URL + reason) and leaves the `.part` so a rerun resumes.
Standard library only.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import tarfile
import threading
import urllib.error
import urllib.request
import zipfile
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable
from urllib.parse import quote, urljoin, urlparse

CHUNK = 1 << 16
TIMEOUT = 60.0
USER_AGENT = "ecgfeat-fetch/0.1 (Python urllib)"


class FetchError(Exception):
    """A download, verification or unpacking failure, with a one-line message naming the file or URL."""


@dataclass(frozen=True)
class Source:
    """Where a dataset lives and which part of it to keep.

    `include` holds path prefixes (a folder, with or without its trailing "/", or one file) selected
    from the manifest, empty meaning everything; `always` lists files fetched whatever `include` the
    caller passes (index files a reader needs). `subdir` is the folder made under `--to`; `root` is
    the path inside it that `fetch` returns (the folder a dataset reader should be pointed at).
    """

    name: str
    base_url: str
    manifest: str = "SHA256SUMS.txt"
    include: tuple[str, ...] = ()
    always: tuple[str, ...] = ()
    archives: tuple[tuple[str, str | None, int | None], ...] = ()
    subdir: str = ""
    root: str = ""
    description: str = ""
    citation: str = ""
    licence: str = ""


CATALOGUE: dict[str, Source] = {
    "ptbxl": Source(
        name="ptbxl",
        base_url="https://physionet.org/files/ptb-xl/1.0.3/",
        include=("records500/", "records100/"),
        always=("ptbxl_database.csv", "scp_statements.csv", "LICENSE.txt"),
        subdir="ptbxl",
        description="PTB-XL 1.0.3: 21,799 clinical 10 s 12-lead ECGs at 500 Hz and 100 Hz, SCP-ECG statements",
        citation="Wagner P, Strodthoff N, Bousseljot R, Samek W, Schaeffter T. PTB-XL, a large publicly "
        "available electrocardiography dataset (version 1.0.3). PhysioNet, 2022. https://doi.org/10.13026/kfzx-aw45",
        licence="CC BY 4.0",
    ),
    "cpsc2018": Source(
        name="cpsc2018",
        base_url="https://physionet.org/files/challenge-2021/1.0.3/",
        include=("training/cpsc_2018/",),
        subdir="cpsc2018",
        root="training/cpsc_2018",
        description="CPSC 2018 training set (6,877 12-lead ECGs, 500 Hz) as WFDB with SNOMED CT labels, "
        "from the PhysioNet/CinC Challenge 2021 (version 1.0.3)",
        citation="Reyna MA et al. Will Two Do? Varying Dimensions in Electrocardiography: the PhysioNet/"
        "Computing in Cardiology Challenge 2021 (version 1.0.3). PhysioNet, 2022. "
        "https://doi.org/10.13026/34va-7q14; Liu F et al. An open access database for evaluating the "
        "algorithms of ECG rhythm and morphology abnormal detection. J Med Imaging Health Inform 2018;8:1368-73",
        licence="CC BY 4.0",
    ),
}


def get_source(name: str) -> Source:
    """The catalogue entry `name`, or FetchError listing the known names."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise FetchError(f"unknown dataset {name!r}; known: {', '.join(sorted(CATALOGUE))}") from None


def safe_relpath(rel: str) -> PurePosixPath:
    """`rel` as a relative POSIX path, or FetchError if it is absolute, empty or climbs out with '..'."""
    p = PurePosixPath(rel)
    if (not rel or p.is_absolute() or "\\" in rel or re.match(r"^[A-Za-z]:", rel)
            or any(part == ".." for part in p.parts) or not p.parts):
        raise FetchError(f"refusing unsafe path {rel!r}: it would escape the target folder")
    return p


def _target(dest: Path, rel: str) -> Path:
    """Where `rel` lands under `dest`; FetchError if it (or a symlink on the way) leaves `dest`."""
    path = dest.joinpath(*safe_relpath(rel).parts)
    if not path.resolve().is_relative_to(dest.resolve()):
        raise FetchError(f"refusing unsafe path {rel!r}: it resolves outside {dest}")
    return path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _open(url: str, offset: int = 0):
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT)


def _neterror(url: str, err: Exception) -> FetchError:
    if isinstance(err, urllib.error.HTTPError):
        return FetchError(f"{url}: HTTP {err.code} {err.reason}")
    reason = err.reason if isinstance(err, urllib.error.URLError) else err
    return FetchError(f"{url}: {reason or type(err).__name__}")


def _download(url: str, part: Path, progress: Callable[[int], None] | None, _retry: bool = True) -> int | None:
    """Append the rest of `url` to `part`, resuming from its size. Returns the full size if the server said it."""
    offset = part.stat().st_size if part.exists() else 0
    try:
        with _open(url, offset) as resp:
            total = None
            if resp.status == 206:
                m = re.match(r"bytes (\d+)-\d+/(\d+|\*)", resp.headers.get("Content-Range", ""))
                if not m or int(m[1]) != offset:
                    raise FetchError(f"{url}: server answered Range {offset}- with {resp.headers.get('Content-Range')!r}")
                total = None if m[2] == "*" else int(m[2])
                mode = "ab"
            else:  # 200: the whole body (the server ignored or was not sent a Range)
                length = resp.headers.get("Content-Length")
                total = int(length) if length else None
                mode = "wb"
            with open(part, mode) as fh:
                while chunk := resp.read(CHUNK):
                    fh.write(chunk)
                    if progress:
                        progress(len(chunk))
            return total
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # nothing left past `offset`: complete, or the .part is too long
            m = re.match(r"bytes \*/(\d+)", err.headers.get("Content-Range", "") if err.headers else "")
            if m and int(m[1]) != offset and _retry:
                part.unlink()
                return _download(url, part, progress, _retry=False)
            return int(m[1]) if m else offset
        raise _neterror(url, err) from None
    except FetchError:
        raise
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        raise _neterror(url, err) from None


def _fetch_one(url: str, path: Path, label: str, sha256: str | None, size: int | None,
               progress: Callable[[int], None] | None) -> None:
    """Download `url` to `path` via `path.part`, verify size and sha256, rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    if size is not None and part.exists() and part.stat().st_size > size:
        part.unlink()
    total = _download(url, part, progress)
    expected = size if size is not None else total
    got_size = part.stat().st_size
    if expected is not None and got_size != expected:
        if got_size > expected:
            part.unlink()
        raise FetchError(f"incomplete download of {label}: {got_size} of {expected} bytes from {url}; rerun to resume")
    if sha256:
        got = sha256_file(part)
        if got != sha256.lower():
            part.unlink()
            raise FetchError(f"checksum mismatch for {label}: expected sha256 {sha256.lower()}, got {got} ({url})")
    os.replace(part, path)


def read_manifest(text: str, name: str = "SHA256SUMS.txt") -> dict[str, str]:
    """Parse `<sha256> <path>` lines (sha256sum style, '*' binary marker allowed) into {path: sha256}.

    Every path is checked with `safe_relpath`: one escaping entry refuses the whole manifest."""
    entries: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(None, 1)
        if len(fields) != 2 or not re.fullmatch(r"[0-9a-fA-F]{64}", fields[0]):
            raise FetchError(f"{name} line {n}: expected '<sha256> <path>', got {line[:80]!r}")
        rel = fields[1].strip().lstrip("*")
        safe_relpath(rel)
        entries[rel] = fields[0].lower()
    return entries


def _wanted(rel: str, prefixes: tuple[str, ...]) -> bool:
    return any(rel == p.rstrip("/") or rel.startswith(p.rstrip("/") + "/") for p in prefixes)


def _unpack(archive: Path, dest: Path) -> None:
    """Extract a zip or tar archive into `dest`, refusing members that would land outside it."""
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                bad = zf.testzip()
                if bad is not None:
                    raise FetchError(f"{archive.name}: corrupt member {bad!r} (CRC mismatch)")
                for member in zf.namelist():
                    _target(dest, member.rstrip("/") or member)
                zf.extractall(dest)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive, "r:*") as tf:
                for member in tf.getmembers():
                    _target(dest, member.name)
                    if member.issym() or member.islnk():
                        raise FetchError(f"{archive.name}: refusing link member {member.name!r}")
                if hasattr(tarfile, "data_filter"):
                    tf.extractall(dest, filter="data")
                else:  # pragma: no cover - Python without extraction filters
                    tf.extractall(dest)
        else:
            raise FetchError(f"{archive.name}: not a zip or tar archive")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as err:
        raise FetchError(f"{archive.name}: cannot unpack: {err}") from None


def _fetch_archive(base: str, dest: Path, rel_url: str, sha256: str | None, size: int | None,
                   progress: Callable[[int], None] | None) -> None:
    name = PurePosixPath(urlparse(rel_url).path).name
    path, marker = _target(dest, name), dest / f".{name}.unpacked"
    ok = path.exists() and (sha256_file(path) == sha256.lower() if sha256 else
                            size is None or path.stat().st_size == size)
    if ok and marker.exists():
        return
    if not ok:
        _fetch_one(urljoin(base, rel_url), path, name, sha256, size, progress)
    try:
        _unpack(path, dest)
    except FetchError:
        if not sha256:  # unverifiable bytes: drop them so a rerun downloads afresh
            path.unlink(missing_ok=True)
        raise
    marker.write_text(sha256 or "")


def fetch(source: str | Source, to: Path, mirror: str | None = None, include=None,
          progress: Callable[[int], None] | None = None, workers: int = 4) -> Path:
    """Download, verify and unpack `source` (a catalogue name or a `Source`) into `to/<subdir>`.

    `mirror` replaces the source's base URL; `include` replaces its prefixes (its `always` files are
    still fetched; `()` means everything in the manifest); `progress(n)` is called with each chunk's
    byte count, from worker threads but never concurrently. Files already present with the right
    hash are skipped, so a rerun only finishes what is missing. Returns the dataset folder.
    """
    src = get_source(source) if isinstance(source, str) else source
    base = (mirror or src.base_url).rstrip("/") + "/"
    dest = Path(to) / (src.subdir or src.name)
    dest.mkdir(parents=True, exist_ok=True)
    if progress is not None:  # callers' progress bars need not be thread-safe
        lock, report = threading.Lock(), progress

        def progress(n: int) -> None:
            with lock:
                report(n)
    jobs: list[tuple] = []
    if src.manifest:
        url = urljoin(base, quote(src.manifest))
        try:
            with _open(url) as resp:
                raw = resp.read()
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            raise _neterror(url, err) from None
        entries = read_manifest(raw.decode("utf-8", "replace"), src.manifest)
        prefixes = tuple(include) if include is not None else src.include
        picked = {r: h for r, h in entries.items() if r != src.manifest
                  and (not prefixes or _wanted(r, prefixes + src.always))}
        if not picked:
            raise FetchError(f"no file of {url} matches include {', '.join(prefixes)}")
        for rel, digest in sorted(picked.items()):
            path = _target(dest, rel)
            if path.is_file() and sha256_file(path) == digest:
                continue
            jobs.append((_fetch_one, urljoin(base, quote(rel)), path, rel, digest, None, progress))
        _target(dest, src.manifest).write_bytes(raw)  # kept for reference / offline checks
    for rel_url, digest, size in src.archives:
        jobs.append((_fetch_archive, base, dest, rel_url, digest, size, progress))
    if jobs:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(fn, *args) for fn, *args in jobs]
            _, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for f in pending:
                f.cancel()
            for f in futures:  # first failure in submission order, after running ones settle
                if f.done() and not f.cancelled() and f.exception() is not None:
                    raise f.exception()
    return dest / src.root if src.root else dest

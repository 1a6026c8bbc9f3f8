"""The Hudi Spark bundles the tests run against, fetched from Maven Central and cached.

Run ``python -m tests.spark.jars`` to fetch every bundle of ALL_RELEASES ahead of a test run
(``.ci/run`` does). The cache is ``$HUDIWRITE_JAR_CACHE``, else ``~/.cache/hudiwrite/jars``; a
jar already in the local Maven repository (``~/.m2/repository``) is used from there. Each
download is checked against the SHA-1 pinned here, so a cached or mirrored jar is always the
released one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Final

import attrs

#: Maven Central, or a mirror of it (``$HUDIWRITE_MAVEN_REPO``).
MAVEN_REPO: Final = os.environ.get("HUDIWRITE_MAVEN_REPO", "https://repo1.maven.org/maven2")
GROUP: Final = "org.apache.hudi"
ARTIFACT: Final = "hudi-spark3.5-bundle_2.12"


class JarUnavailableError(RuntimeError):
    """A Hudi bundle could not be fetched: the Spark tests cannot run (and must not pass)."""


@attrs.frozen
class HudiRelease:
    """One Hudi release the suite runs: its engine label, Maven version and pinned SHA-1."""

    label: str
    version: str
    sha1: str
    #: The table version this release writes by default.
    table_version: int

    @property
    def file_name(self) -> str:
        return f"{ARTIFACT}-{self.version}.jar"

    @property
    def url(self) -> str:
        group = GROUP.replace(".", "/")
        return f"{MAVEN_REPO}/{group}/{ARTIFACT}/{self.version}/{self.file_name}"


#: Every release the suite can run, by label. 0.15.0 is the last 0.x release (table version 6,
#: what Athena and EMR run); 1.0.2 is the last 1.0.x release (table version 8, the version
#: 1.0.x readers need); 1.2.0 is the newest 1.x release Maven Central served on 2026-12-02
#: (table version 9).
ALL_RELEASES: Final = {
    "0.15": HudiRelease("0.15", "0.15.0", "eafab318d9d0fe1f7c1b16d387d24b2f55fe186d", 6),
    "1.0": HudiRelease("1.0", "1.0.2", "0e0710389fb2a6585d5a7f3bc00977dd15c0e861", 8),
    "1.x": HudiRelease("1.x", "1.2.0", "3f67a3f29a8f914ecb55a2aeacf2298dced576d3", 9),
}

#: The releases every Spark test runs against: the ``spark`` fixture's parameters and the
#: engines (columns) of docs/interop.md. The others ("1.0") run only in the tests that ask
#: for them by label (``spark_pool.get("1.0")``), and their JVM starts only then.
MATRIX: Final = ("0.15", "1.x")
RELEASES: Final = {label: ALL_RELEASES[label] for label in MATRIX}


def cache_dir() -> Path:
    env = os.environ.get("HUDIWRITE_JAR_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "hudiwrite" / "jars"


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _maven_local(release: HudiRelease) -> Path:
    group = GROUP.replace(".", "/")
    root = Path.home() / ".m2" / "repository"
    return root / group / ARTIFACT / release.version / release.file_name


def jar_path(label: str) -> Path:
    """The local path of the bundle for ``label`` (a key of ALL_RELEASES), fetched if missing.

    Raises JarUnavailableError (with the URL and the cause) if it cannot be fetched or its
    checksum does not match.
    """
    release = ALL_RELEASES[label]
    for candidate in (cache_dir() / release.file_name, _maven_local(release)):
        if candidate.is_file() and _sha1(candidate) == release.sha1:
            return candidate
    target = cache_dir() / release.file_name
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".download-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(release.url, timeout=120) as r:
            shutil.copyfileobj(r, out, 1 << 20)
        actual = _sha1(tmp)
        if actual != release.sha1:
            raise JarUnavailableError(
                f"{release.url}: SHA-1 {actual} is not the pinned {release.sha1}"
            )
        tmp.replace(target)
    except JarUnavailableError:
        raise
    except Exception as exc:
        raise JarUnavailableError(
            f"cannot fetch the Hudi {release.version} Spark bundle from {release.url}: {exc!r}. "
            "The Spark tests need it; fetch it with `python -m tests.spark.jars` where Maven "
            "Central (or $HUDIWRITE_MAVEN_REPO) is reachable."
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target


def main() -> int:
    for label in ALL_RELEASES:
        path = jar_path(label)
        print(f"{label}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

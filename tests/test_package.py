"""The package: a wheel built from the repo carries the metadata a package index shows, the
manual page and one version, and installed into a venv of its own it runs.

It builds a wheel (about 10 s), so it runs in CI (.ci/run sets CI) or with
CLM_TEST_PACKAGE=1; .ci/run also builds the sdist, runs `twine check` and installs the wheel
with pipx, as the README says."""

import os
import subprocess
import sys
import sysconfig
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from clm import __version__

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.package,
    pytest.mark.sqlite_only("about the package, not the database: once per CI run"),
    pytest.mark.skipif(
        not (os.environ.get("CI") or os.environ.get("CLM_TEST_PACKAGE")),
        reason="builds a wheel: CI=1 or CLM_TEST_PACKAGE=1",
    ),
]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, ROOT],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    (built,) = dist.glob("clm-*.whl")
    return built


def test_the_wheel_has_one_version_and_the_metadata_an_index_shows(wheel):
    assert wheel.name == f"clm-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        metadata = Parser().parsestr(archive.read(f"clm-{__version__}.dist-info/METADATA").decode())
        man_page = archive.read(f"clm-{__version__}.data/data/share/man/man1/clm.1")
        licence = archive.read(f"clm-{__version__}.dist-info/licenses/LICENSE")
    assert metadata["Name"] == "clm" and metadata["Version"] == __version__
    assert metadata["License-Expression"] == "MIT" and licence.startswith(b"MIT License")
    assert "Programming Language :: Python :: 3.11" in metadata.get_all("Classifier")
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL"))
    assert {"Homepage", "Documentation", "Changelog", "Issues"} <= set(urls)
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().startswith("# clm — customer lifecycle management")
    assert man_page == (ROOT / "docs" / "clm.1").read_bytes()


def test_the_wheel_installed_in_a_venv_runs_with_its_manual(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    # The dependencies come from the test's own environment (installing them anew takes half
    # a minute; .ci/run does it with pipx): only clm itself is the wheel's.
    python = venv / "bin" / "python"
    site = Path(python_says(python, "import sysconfig; print(sysconfig.get_path('purelib'))"))
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q",
         "--no-deps", wheel],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CLM_DB")}
    env |= {"CLM_DB": str(tmp_path / "book.db"), "PATH": f"{venv / 'bin'}:{env['PATH']}"}

    def clm(*args: str) -> str:
        return subprocess.run(
            ["clm", *args], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
        ).stdout

    assert clm("--version") == f"clm {__version__}\n"
    clm("init")
    clm("customer", "add", "Acme Corp")
    assert clm("customer", "list", "--fields", "slug", "-f", "csv") == "slug\nacme-corp\n"
    where = python_says(python, "import clm; print(clm.__file__)", cwd=tmp_path, env=env)
    assert where.startswith(str(site))  # the wheel's clm, not the source tree's
    page = venv / "share" / "man" / "man1" / "clm.1"
    assert page.read_bytes() == (ROOT / "docs" / "clm.1").read_bytes()
    assert clm("help").endswith(f"`man clm`, else\n  man {page}\n")


def python_says(python: Path, code: str, **options) -> str:
    result = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True, **options
    )
    return result.stdout.strip()

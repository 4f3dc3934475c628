"""The generated files stay true: docs/reference.md is every command's --help, and the
command index shell completion reads is the live command tree."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs"))

import make_reference  # noqa: E402

REFRESH = "out of date: run `python docs/make_reference.py` and commit the result"


def test_reference_matches_the_help():
    text = (ROOT / "docs" / "reference.md").read_text()
    assert text == make_reference.reference_text(), f"docs/reference.md is {REFRESH}"


def test_man_page_matches_the_help():
    text = (ROOT / "docs" / "clm.1").read_text()
    assert text == make_reference.man_page_text(), f"docs/clm.1 is {REFRESH}"


def test_completion_index_matches_the_commands():
    text = (ROOT / "clm" / "cli" / "command_index.py").read_text()
    assert text == make_reference.command_index_source(), f"clm/cli/command_index.py is {REFRESH}"


def test_readme_pictures_exist():
    readme = (ROOT / "README.md").read_text()
    for picture in make_reference_pictures():
        assert f"docs/{picture}" in readme, f"README.md does not show docs/{picture}"
        assert (ROOT / "docs" / picture).exists(), "run `python docs/make_pictures.py`"


def make_reference_pictures():
    import make_pictures

    return [name for name, _ in make_pictures.PICTURES] + [make_pictures.DIGEST_PNG]


def test_the_digest_picture_is_a_png_of_the_digest():
    """docs/digest.png is Chromium's rendering of docs/digest.html (compared with what clm
    sends below): a PNG, of the size make_pictures asks for."""
    import make_pictures

    png = (ROOT / "docs" / make_pictures.DIGEST_PNG).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(png[16:20], "big") == 720  # the width of a mail's reading pane
    html = (ROOT / "docs" / make_pictures.DIGEST_HTML).read_text()
    assert "Customers handed to you (1)" in html and "<code>clm cta close" in html


@pytest.mark.sqlite_only("draws the pictures from a demo file: once per CI run")
def test_readme_pictures_are_what_clm_draws_today():
    import make_pictures

    for name, svg in make_pictures.drawn().items():
        assert (ROOT / "docs" / name).read_text() == svg, (
            f"docs/{name} is out of date: run `python docs/make_pictures.py` and commit it"
        )

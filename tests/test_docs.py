"""The generated documentation: a short README, docs/ pages in the site's navigation, and a strict `make docs`.

The fast tests read a bake; the slow ones build the docs site of the installed end-to-end bake.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Bake, run_make
from tests.test_own_data import walkthrough

README_LINES = 150  # a quick start and an overview: what a newcomer reads in five minutes
TOCTREE = re.compile(r"```\{toctree\}\n(.*?)```", re.DOTALL)
LOCAL_LINK = re.compile(r"\]\((?!https?://)([^)#\s]+)(?:#[^)\s]*)?\)")
# The site: `make docs` writes it here, and the API reference under reference/<package>/.
SITE = "build/docs"
PACKAGE = "tumor_classifier"
ANSWERS = [{}, {"tracking": "server", "publish_to_pypi": "no", "task": "regression"}]


def toctree_entries(page: Path) -> list[str]:
    """The documents a Markdown page's toctree lists, options left out."""
    blocks = TOCTREE.findall(page.read_text())
    return [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith(":")
    ]


def pages(project: Path) -> set[str]:
    """The docs pages of a project, as toctree names (no suffix), the home page left out."""
    return {path.stem for path in (project / "docs").glob("*.md")} - {"index"}


def local_links(page: Path) -> list[str]:
    """The targets of a Markdown page's links to files of the project (web addresses left out)."""
    return LOCAL_LINK.findall(page.read_text())


@pytest.mark.parametrize("answers", ANSWERS, ids=["default", "server-regression"])
def test_readme_is_a_quick_start_that_links_to_the_docs(
    bake: Bake, answers: dict[str, str]
) -> None:
    """The README fits in five minutes, and every file it links to exists."""
    project = bake(**answers)
    readme = project / "README.md"
    lines = readme.read_text().splitlines()
    assert len(lines) <= README_LINES, f"README.md has {len(lines)} lines"
    linked = local_links(readme)
    assert {"docs/own-data.md", "docs/deploy.md", "docs/api.md"} <= set(linked)
    for target in linked:
        assert (project / target).is_file(), f"README.md links to a missing {target}"


@pytest.mark.parametrize("answers", ANSWERS, ids=["default", "server-regression"])
def test_every_docs_page_is_in_the_navigation(bake: Bake, answers: dict[str, str]) -> None:
    """The home page's toctree lists each page once; each page's file links point at files."""
    project = bake(**answers)
    docs = project / "docs"
    navigation = toctree_entries(docs / "index.md")
    assert sorted(navigation) == sorted(pages(project)), "every page in the navigation, once"
    assert toctree_entries(docs / "api.md") == [f"reference/{PACKAGE}/index"], "the API reference"
    for page in docs.glob("*.md"):
        for target in local_links(page):
            assert (page.parent / target).is_file(), f"{page.name} links to a missing {target}"


def test_own_data_walkthrough_is_on_its_docs_page(bake: Bake) -> None:
    """The walkthrough the end-to-end tests follow is on docs/own-data.md: five commands."""
    commands = walkthrough(bake())
    assert len(commands) == 5, commands
    assert commands[0] == "cp tests/data/churn.csv datasets/"
    assert commands[-2:] == ["make train", "make deploy"]


def module_pages(project: Path) -> set[str]:
    """The API reference page each public module and package of the source should have."""
    package = project / "src" / PACKAGE
    expected = set()
    for path in package.rglob("*.py"):
        parts = path.relative_to(project / "src").with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        elif parts[-1].startswith("_"):
            continue  # __main__ and private modules are not part of the reference
        expected.add("/".join(("reference", *parts, "index.html")))
    return expected


@pytest.fixture(scope="module")
def built_docs(installed_project: Path) -> Path:
    """The installed bake with its docs site built by `make docs` (which installs the docs group first)."""
    run_make(installed_project, "docs")
    return installed_project


@pytest.mark.slow
def test_make_docs_builds_the_site_with_the_api_reference(built_docs: Path) -> None:
    """The site has every page and a reference page per module, uses no remote asset, and leaves git clean."""
    site = built_docs / SITE
    for page in ["index", *pages(built_docs)]:
        assert (site / f"{page}.html").is_file(), f"{page}.md was not built"
    missing = {page for page in module_pages(built_docs) if not (site / page).is_file()}
    assert not missing, f"no API reference page for {sorted(missing)}"
    api = (site / "api.html").read_text()
    assert f'href="reference/{PACKAGE}/index.html"' in api, "the API page links the reference"
    for html in site.rglob("*.html"):
        remote = re.findall(r'<(?:script|img)[^>]* src="(https?://[^"]+)"', html.read_text())
        remote += re.findall(r'<link[^>]* href="(https?://[^"]+)"', html.read_text())
        assert not remote, f"{html.relative_to(site)} loads {remote}: the site must work offline"
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "docs", "build"],
        cwd=built_docs,
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == "", "the build writes only into the ignored build/docs/"


@pytest.mark.slow
def test_a_warning_fails_make_docs(built_docs: Path, tmp_path: Path) -> None:
    """A broken link, a page outside the navigation or a docstring that does not render fails the build."""
    # A copy of the sources shares the installed venv: its markers name the original folder, so `-o` tells
    # make not to rebuild it for the move.
    copy = tmp_path / "project"
    shutil.copytree(
        built_docs,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", ".dvc", ".mlflow", "build", "data", "models", "logs"
        ),
    )
    (copy / ".venv").symlink_to(built_docs / ".venv")
    with (copy / "docs/deploy.md").open("a") as page:
        page.write("\nSee [the old page](no-such-page.md).\n")
    (copy / "docs/orphan.md").write_text("# A page nobody links\n")
    (copy / "src" / PACKAGE / "broken.py").write_text(
        '"""A docstring with *unclosed emphasis."""\n'
    )

    built = run_make(copy, "-o", ".venv/.runtime", "-o", ".venv/.docs", "docs", check=False)

    output = built.stdout + built.stderr
    assert built.returncode != 0, f"make docs passed despite warnings:\n{output[-3000:]}"
    warnings = [line.lower() for line in output.splitlines() if "warning" in line.lower()]

    def warned(*words: str) -> bool:
        """Whether one warning line holds all these words."""
        return any(all(word in line for word in words) for line in warnings)

    assert warned("deploy.md", "no-such-page.md"), "the broken link is named, with its page"
    assert warned("orphan.md", "toctree"), "the page outside the navigation is named"
    assert warned("broken", "emphasis"), "the module whose docstring does not render is named"

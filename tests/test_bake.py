"""Bake tests: every choice, pairwise, rendered and checked without installing anything."""

from __future__ import annotations

import ast
import json
import re
import runpy
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from allpairspy import AllPairs

from tests.conftest import CHOICES, DEFAULTS, TEMPLATE, Bake

COMBINATIONS = [
    dict(zip(CHOICES, values, strict=True)) for values in AllPairs(list(CHOICES.values()))
]
# Real Jinja syntax only: an expression, a statement or a comment; `}}` alone closes nested literals.
JINJA_LEFTOVER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
GITHUB_EXPRESSION = re.compile(r"\$\{\{ [^{}]+ \}\}")  # ${{ ... }} in workflows is meant to stay

BASE_FILES = {
    ".cruft.json",
    ".github/dependabot.yml",
    ".github/workflows/ci.yml",
    ".github/workflows/monitor.yml",
    ".github/workflows/release.yml",
    ".dvc/.gitignore",
    ".dvc/config",
    ".dockerignore",
    ".dvcignore",
    ".env.example",
    ".gitignore",
    ".pre-commit-config.yaml",
    ".pip-audit-ignore.toml",
    "Dockerfile",
    "LICENSE",
    "Makefile",
    "datasets/README.md",
    "datasets/sklearn-breast_cancer.schema.yaml",
    "datasets/sklearn-diabetes.schema.yaml",
    "tests/data/churn.csv",
    "tests/data/churn-v2.csv",
    "tests/data/spend.csv",
    "tests/data/spend-v2.csv",
    "compose.yaml",
    "tracking-server.Dockerfile",
    "README.md",
    "docs/conf.py",
    "docs/api.md",
    "docs/deploy.md",
    "docs/index.md",
    "docs/kubernetes.md",
    "k8s/deployment.yaml",
    "k8s/hpa.yaml",
    "k8s/kustomization.yaml",
    "k8s/pdb.yaml",
    "k8s/service.yaml",
    "k8s/kserve/inferenceservice.yaml",
    "src/{package}/cli/k8s.py",
    "src/{package}/deploy/k8s.py",
    "src/{package}/deploy/serving_gate.py",
    "tests/deploy/test_serving_gate.py",
    "tests/deploy/test_k8s.py",
    "tests/serving/test_request_log.py",
    "docs/maintenance.md",
    "docs/monitoring.md",
    "docs/own-data.md",
    "docs/pipeline.md",
    "docs/reproduce.md",
    "docs/plugins.md",
    "docs/reference.md",
    "docs/team.md",
    "docs/troubleshooting.md",
    "docs/tuning.md",
    "dvc.yaml",
    "params.yaml",
    "poetry.toml",
    "pyproject.toml",
    "src/{package}/__init__.py",
    "src/{package}/__main__.py",
    "src/{package}/cli/__init__.py",
    "src/{package}/cli/serve.py",
    "src/{package}/deploy/__init__.py",
    "src/{package}/deploy/aliases.py",
    "src/{package}/deploy/gate.py",
    "src/{package}/deploy/server.py",
    "src/{package}/deploy/strategies.py",
    "src/{package}/image/__init__.py",
    "src/{package}/image/publish.py",
    "src/{package}/image/runtime.py",
    "src/{package}/errors.py",
    "src/{package}/files.py",
    "src/{package}/audit.py",
    "src/{package}/logging.py",
    "src/{package}/net.py",
    "src/{package}/processes.py",
    "src/{package}/names.py",
    "src/{package}/model/__init__.py",
    "src/{package}/model/batch.py",
    "src/{package}/model/export.py",
    "src/{package}/model/load.py",
    "src/{package}/model/loaded.py",
    "src/{package}/mlflow_plugin/__init__.py",
    "src/{package}/mlflow_plugin/artifacts.py",
    "src/{package}/mlflow_plugin/context.py",
    "src/{package}/mlflow_plugin/experiment.py",
    "src/{package}/monitoring/__init__.py",
    "src/{package}/monitoring/drift.py",
    "src/{package}/pipeline/__init__.py",
    "src/{package}/pipeline/contract.py",
    "src/{package}/pipeline/evaluate.py",
    "src/{package}/pipeline/ingest.py",
    "src/{package}/pipeline/metrics.py",
    "src/{package}/pipeline/model.py",
    "src/{package}/pipeline/params.py",
    "src/{package}/pipeline/params_file.py",
    "src/{package}/pipeline/plots.py",
    "src/{package}/pipeline/prepare.py",
    "src/{package}/pipeline/search_space.py",
    "src/{package}/pipeline/strict_yaml.py",
    "src/{package}/pipeline/train.py",
    "src/{package}/reproduce/__init__.py",
    "src/{package}/reproduce/check.py",
    "src/{package}/reproduce/compare.py",
    "src/{package}/reproduce/lineage.py",
    "src/{package}/reproduce/rebuild.py",
    "src/{package}/reproduce/worktree.py",
    "src/{package}/project.py",
    "src/{package}/provenance.py",
    "src/{package}/serving/__init__.py",
    "src/{package}/serving/app.py",
    "src/{package}/serving/plan.py",
    "src/{package}/serving/metrics.py",
    "src/{package}/serving/payloads.py",
    "src/{package}/serving/request_log.py",
    "src/{package}/serving/routing.py",
    "src/{package}/settings.py",
    "src/{package}/deploy/launch.py",
    "src/{package}/deploy/lock.py",
    "src/{package}/deploy/smoke.py",
    "src/{package}/deploy/workers.py",
    "src/{package}/cli/data.py",
    "src/{package}/cli/deploy.py",
    "src/{package}/cli/image.py",
    "src/{package}/cli/ops.py",
    "src/{package}/cli/stages.py",
    "src/{package}/cli/team.py",
    "src/{package}/cli/tune.py",
    "src/{package}/cli/reproduce.py",
    "src/{package}/card/__init__.py",
    "src/{package}/card/facts.py",
    "src/{package}/card/render.py",
    "src/{package}/card/write.py",
    "tests/card/__init__.py",
    "tests/card/test_card.py",
    "model-card.md",
    "src/{package}/serving/errors.py",
    "src/{package}/serving/routes.py",
    "src/{package}/serving/schema.py",
    "src/{package}/serving/scoring.py",
    "src/{package}/serving/oip.py",
    "src/{package}/serving/readiness.py",
    "src/{package}/serving/v2_routes.py",
    "src/{package}/tracking/ending.py",
    "src/{package}/tracking/interruption.py",
    "src/{package}/tracking/params.py",
    "src/{package}/image/context.py",
    "src/{package}/monitoring/stats.py",
    "src/{package}/monitoring/requests.py",
    "src/{package}/monitoring/report.py",
    "src/{package}/monitoring/verdict.py",
    "src/{package}/tracking/__init__.py",
    "src/{package}/tracking/callbacks.py",
    "src/{package}/tracking/metrics.py",
    "src/{package}/tracking/registry.py",
    "src/{package}/tracking/runs.py",
    "src/{package}/tuning/__init__.py",
    "src/{package}/tuning/apply.py",
    "src/{package}/tuning/objective.py",
    "src/{package}/tuning/search.py",
    "src/{package}/tuning/storage.py",
    "src/{package}/tuning/summary.py",
    "src/{package}/tuning/trials.py",
    "src/{package}/tracking/server.py",
    "src/{package}/tracking/spool.py",
    "src/{package}/tracking/store.py",
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/mlflow_plugin/__init__.py",
    "tests/mlflow_plugin/test_context.py",
    "tests/mlflow_plugin/test_entry_points.py",
    "tests/monitoring/__init__.py",
    "tests/monitoring/test_drift.py",
    "tests/pipeline/__init__.py",
    "tests/pipeline/conftest.py",
    "tests/pipeline/test_contract.py",
    "tests/pipeline/test_ingest.py",
    "tests/pipeline/test_metrics.py",
    "tests/pipeline/test_params.py",
    "tests/pipeline/test_plots.py",
    "tests/pipeline/test_prepare.py",
    "tests/pipeline/test_runners.py",
    "tests/pipeline/test_train.py",
    "tests/pipeline/test_datasets.py",
    "tests/reproduce/__init__.py",
    "tests/reproduce/conftest.py",
    "tests/reproduce/test_compare.py",
    "tests/reproduce/test_lineage.py",
    "tests/reproduce/test_worktree.py",
    "tests/tuning/__init__.py",
    "tests/tuning/conftest.py",
    "tests/tuning/test_apply.py",
    "tests/tuning/test_objective.py",
    "tests/tuning/test_search.py",
    "tests/tuning/test_search_space.py",
    "tests/serving/__init__.py",
    "tests/serving/test_app.py",
    "tests/serving/test_routing.py",
    "tests/cli/__init__.py",
    "tests/cli/test_commands.py",
    "tests/deploy/__init__.py",
    "tests/deploy/test_aliases.py",
    "tests/deploy/test_server.py",
    "tests/model/__init__.py",
    "tests/model/test_load.py",
    "tests/test_logging.py",
    "tests/test_files.py",
    "tests/test_audit.py",
    "tests/test_sbom.py",
    "tests/test_project.py",
    "tests/test_settings.py",
    "tests/deploy/conftest.py",
    "tests/deploy/test_gate.py",
    "tests/deploy/test_lock.py",
    "tests/deploy/test_strategies.py",
    "tests/model/conftest.py",
    "tests/model/test_batch.py",
    "tests/model/test_export.py",
    "tests/model/test_loaded.py",
    "tests/tracking/test_registry.py",
    "tests/cli/test_errors.py",
    "tests/cli/test_startup.py",
    "tests/serving/test_metrics.py",
    "tests/serving/test_plan.py",
    "tests/serving/conftest.py",
    "tests/serving/test_v2.py",
    "tests/serving/test_v2_client.py",
    "tests/tracking/test_ending.py",
    "tests/tracking/test_interruption.py",
    "tests/tracking/test_params.py",
    "tests/image/__init__.py",
    "tests/image/engines.py",
    "tests/image/test_context.py",
    "tests/image/test_publish.py",
    "tests/image/test_runtime.py",
    "tests/image/test_slim.py",
    "tests/monitoring/conftest.py",
    "tests/monitoring/test_stats.py",
    "tests/monitoring/test_requests.py",
    "tests/monitoring/test_report.py",
    "tests/monitoring/test_verdict.py",
    "tests/mlflow_plugin/test_artifacts.py",
    "tests/tracking/__init__.py",
    "tests/tracking/conftest.py",
    "tests/tracking/test_callbacks.py",
    "tests/tracking/test_metrics.py",
    "tests/tracking/test_runs.py",
    "tests/tracking/test_server.py",
    "tests/tracking/test_spool.py",
    "tests/tracking/test_store.py",
}


def expected_files(answers: dict[str, str], package: str) -> set[str]:
    """The exact file set a bake with these answers must produce."""
    files = {name.format(package=package) for name in BASE_FILES}
    if answers["license"] == "Proprietary":
        files.discard("LICENSE")
    if answers["publish_to_pypi"] == "no":
        files.discard(".github/workflows/release.yml")
    # The other task's example data and the contract of its default dataset.
    other = {"classification": ("spend", "diabetes"), "regression": ("churn", "breast_cancer")}
    example, dataset = other[answers["task"]]
    files -= {f"tests/data/{example}.csv", f"tests/data/{example}-v2.csv"}
    files.discard(f"datasets/sklearn-{dataset}.schema.yaml")
    if answers["tracking"] == "local":
        files -= {"compose.yaml", "tracking-server.Dockerfile"}
    return files


def baked_files(project: Path) -> set[str]:
    """The files a bake produced, relative to the project, outside .git."""
    return {
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(project).parts
    }


def combination_id(answers: dict[str, str]) -> str:
    """A test id naming the answers of one combination."""
    return "-".join(answers.values())


def test_pairwise_covers_every_choice() -> None:
    """Every value of every choice prompt is baked at least once."""
    for name, values in CHOICES.items():
        assert {answers[name] for answers in COMBINATIONS} == set(values), name


@pytest.mark.parametrize("answers", COMBINATIONS, ids=combination_id)
def test_bake_renders_cleanly(bake: Bake, answers: dict[str, str]) -> None:
    """A bake has the exact file set, no Jinja left, parseable config files and lint-clean code."""
    project = bake(**answers)
    assert baked_files(project) == expected_files(answers, "tumor_classifier")
    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            leftover = JINJA_LEFTOVER.search(GITHUB_EXPRESSION.sub("", path.read_text()))
            assert leftover is None, f"{path.name}: Jinja left at {leftover!r}"
            if path.suffix == ".toml":
                tomllib.loads(path.read_text())
            elif path.suffix in (".yaml", ".yml"):
                yaml.safe_load(path.read_text())
            elif path.suffix == ".json":
                json.loads(path.read_text())
    assert_lint_clean(project)


def assert_lint_clean(project: Path, label: str = "") -> None:
    """The baked project passes its own ruff and black configuration, as generated."""
    for tool in (["ruff", "check"], ["black", "--check", "--quiet"]):
        completed = subprocess.run(
            [sys.executable, "-m", *tool, "src", "tests"],
            cwd=project,
            capture_output=True,
            text=True,
        )
        assert completed.returncode == 0, f"{label}{tool[0]}: {completed.stdout}{completed.stderr}"


@pytest.mark.parametrize("answers", COMBINATIONS, ids=combination_id)
def test_pyproject_carries_the_answers(bake: Bake, answers: dict[str, str]) -> None:
    """The rendered pyproject has the name, version, Python, license and script of the answers."""
    project = bake(**answers, project_name="Churn Model", version="1.2.0rc1")
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    meta = pyproject["project"]
    assert project.name == "churn-model"
    assert (meta["name"], meta["version"]) == ("churn-model", "1.2.0rc1")
    assert meta["requires-python"].startswith(f">={answers['python_version']},")
    assert pyproject["tool"]["mypy"]["python_version"] == answers["python_version"]
    assert meta["scripts"] == {"churn-model": "churn_model.cli:main"}
    if answers["license"] == "Proprietary":
        assert "Private :: Do Not Upload" in meta["classifiers"]
    else:
        assert meta["license"] == answers["license"]
        assert answers["license"].split("-")[0].upper() in (project / "LICENSE").read_text().upper()
    assert "source" not in pyproject["tool"]["poetry"], "no index answer means plain PyPI"


def test_package_index_becomes_the_primary_source(bake: Bake) -> None:
    """A package_index_url answer is declared as Poetry's primary source."""
    project = bake(package_index_url="https://mirror.example.org/simple")
    sources = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["poetry"]["source"]
    assert sources == [
        {"name": "package-index", "url": "https://mirror.example.org/simple", "priority": "primary"}
    ]


def test_derived_names_can_be_overridden(bake: Bake) -> None:
    """Slug and package name follow the project name unless given explicitly."""
    project = bake(project_name="Fraud Scorer", project_slug="fraud", package_name="fraud_core")
    assert project.name == "fraud"
    assert (project / "src" / "fraud_core" / "settings.py").is_file()
    names = (project / "src/fraud_core/names.py").read_text()
    assert 'PROJECT_NAME = "Fraud Scorer"' in names
    assert 'DISTRIBUTION = "fraud"' in names


def test_quotes_in_free_text_stay_valid_toml(bake: Bake) -> None:
    """Quotes and backslashes in free-text answers are escaped, not pasted raw into TOML."""
    project = bake(description='Scores "risky" payments \\ fast', author_name="O'Brien")
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert meta["description"] == 'Scores "risky" payments \\ fast'
    assert meta["authors"][0]["name"] == "O'Brien"


def test_init_git_makes_one_clean_commit(bake: Bake) -> None:
    """init_git=yes leaves a repository on main with everything in one commit and a clean tree."""
    project = bake(init_git="yes")

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=project, capture_output=True, text=True, check=True
        ).stdout.strip()

    assert git("rev-list", "--count", "HEAD") == "1"
    assert git("branch", "--show-current") == "main"
    assert git("status", "--porcelain") == ""
    assert set(git("ls-files").splitlines()) == expected_files(DEFAULTS, "tumor_classifier")


@pytest.mark.parametrize(
    ("task", "dataset", "plots"),
    [
        ("classification", "sklearn:breast_cancer", {"confusion.csv", "roc.csv"}),
        ("regression", "sklearn:diabetes", {"residuals.csv", "predicted_vs_actual.csv"}),
    ],
)
def test_task_chooses_data_plots_and_gate(
    bake: Bake, task: str, dataset: str, plots: set[str]
) -> None:
    """The task answer picks the dataset, the DVC plots and gate metrics that fit it."""
    project = bake(task=task)
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert (params["task"], params["data"]["source"]) == (task, dataset)
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    declared = {next(iter(plot)).rsplit("/", 1)[1] for plot in stages["evaluate"]["plots"]}
    assert declared == plots
    gate_metrics = set(params["gate"]["limits"])
    assert gate_metrics <= ({"accuracy", "roc_auc"} if task == "classification" else {"rmse", "r2"})
    for name, stage in stages.items():
        assert f"src/tumor_classifier/pipeline/{name}.py" in stage["deps"], name


def test_dvc_works_without_git_only_when_asked(bake: Bake) -> None:
    """DVC runs without a git repository (no_scm) only when no repository was created."""
    assert "no_scm = true" in (bake(init_git="no") / ".dvc/config").read_text()
    assert "no_scm" not in (bake(init_git="yes") / ".dvc/config").read_text()


def test_init_git_no_leaves_no_repository(bake: Bake) -> None:
    """init_git=no creates no .git folder."""
    assert not (bake(init_git="no") / ".git").exists()


NASTY_NAMES = [
    'Evil"""; import os; os.system("touch PWNED") #',
    'Trailing quote"',
    "Back\\slash \\N{BULLET} \\x00 \\u12",
    "50% off {braces} and }} alone",
    "Ærøskøbing Modèle: 機械学習 🚀",
    "O'Brien & <Sons> $(touch PWNED) `touch PWNED`",
]


@pytest.mark.parametrize("name", NASTY_NAMES, ids=range(len(NASTY_NAMES)))
def test_hostile_answers_stay_data(bake: Bake, name: str) -> None:
    """Quotes, backslashes, Jinja and shell syntax in free text bake parseable files that run nothing."""
    project = bake(project_name=name, project_slug="nasty", description=name, author_name=name)
    for path in project.rglob("*"):
        if not path.is_file() or ".git" in path.parts:
            continue
        if path.suffix == ".py":
            ast.parse(path.read_text(), filename=str(path))
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text())
        elif path.suffix in (".yaml", ".yml"):
            yaml.safe_load(path.read_text())
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert (meta["description"], meta["authors"][0]["name"]) == (name, name)
    names = runpy.run_path(str(project / "src/nasty/names.py"), run_name="nasty.names")
    assert (names["PROJECT_NAME"], names["DESCRIPTION"]) == (name, name), "the value, not code"
    assert not list(project.parent.rglob("PWNED")), "nothing ran while baking or importing"


@pytest.mark.parametrize("name", ["Aardvark", "Zebra Model", "tests alike", "Ünïcode Näme!"])
def test_any_accepted_name_bakes_lint_clean_code(bake: Bake, name: str) -> None:
    """Import order and formatting hold whether the package sorts before or after `tests`."""
    assert_lint_clean(bake(project_name=name), f"{name}: ")


def test_package_code_is_plain_python() -> None:
    """Inside the package only names.py and __init__.py hold Jinja: imports are relative."""
    package = TEMPLATE / "{{cookiecutter.project_slug}}" / "src" / "{{cookiecutter.package_name}}"
    templated = {
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if JINJA_LEFTOVER.search(path.read_text())
    }
    assert templated == {"names.py", "__init__.py"}


# The generated package's layers, lowest first: each imports only from layers below it (or inside itself).
LAYERS = [
    {"names", "provenance", "errors", "net", "processes", "files"},
    {"project", "audit"},  # audit: the vulnerability ignore list, read by `make audit`
    {"settings"},
    {"logging", "tracking"},
    {"pipeline", "model", "mlflow_plugin"},
    {"serving", "image", "tuning", "reproduce"},
    {"deploy"},
    {"monitoring", "card"},  # card: a version's model card, from its lineage and its gate
    {"cli"},
    {"__main__"},
]


def package_imports(package: Path) -> set[tuple[str, str]]:
    """(importer, imported) pairs of top-level parts of the package, from every import, lazy ones too."""
    pairs = set()
    for path in package.rglob("*.py"):
        parts = path.relative_to(package).with_suffix("").parts
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = list(parts[: len(parts) - node.level])
                target = [*base, *(node.module or "").split(".")] if node.module else base
                names = [target] if node.module else [[*base, alias.name] for alias in node.names]
                pairs |= {(parts[0], name[0]) for name in names if name and name[0] != parts[0]}
    return pairs


def test_package_layers_point_one_way(bake: Bake) -> None:
    """Imports run from cli down to settings and names: never up a layer, never in a circle."""
    package = bake() / "src" / "tumor_classifier"
    rank = {part: level for level, parts in enumerate(LAYERS) for part in parts}
    modules = {path.relative_to(package).with_suffix("").parts[0] for path in package.rglob("*.py")}
    assert modules - {"__init__"} <= set(rank), f"give these a layer: {modules - set(rank)}"
    upward = [(a, b) for a, b in package_imports(package) if b in rank and rank[b] >= rank[a]]
    assert not upward, f"imports that do not point down a layer: {sorted(upward)}"


def module_imports(package: Path) -> dict[str, set[str]]:
    """Each module of the package (dotted, relative to it) and the package modules it imports, lazy ones too."""
    modules = {
        ".".join(path.relative_to(package).with_suffix("").parts): path
        for path in package.rglob("*.py")
    }
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        parts = name.split(".")
        home = parts if path.name == "__init__.py" else parts[:-1]
        home = [part for part in home if part != "__init__"]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = home[: len(home) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
                for alias in node.names:
                    for candidate in (".".join([*target, alias.name]), ".".join(target)):
                        found = candidate if candidate in modules else f"{candidate}.__init__"
                        if found in modules and found != name:
                            graph[name].add(found)
                            break
    return graph


def import_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle between modules, or None (lazy imports count: they are part of the design)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target] if target in path else [node, target]
            if target not in state and (found := visit(target, [*path, target])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


MODULE_LINES = 250  # a module a newcomer reads in one sitting
FUNCTION_LINES = 40  # a function's body, its docstring not counted


def long_functions(path: Path) -> list[str]:
    """The functions of a module whose body (docstring excluded) is longer than FUNCTION_LINES."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            has_docstring = isinstance(body[0], ast.Expr) and isinstance(
                body[0].value, ast.Constant
            )
            first = body[1] if has_docstring and len(body) > 1 else body[0]
            length = (node.end_lineno or node.lineno) - first.lineno + 1
            if length > FUNCTION_LINES:
                found.append(f"{node.name} ({length} lines)")
    return found


@pytest.mark.parametrize("task", CHOICES["task"])
def test_package_rooms_stay_small_and_one_way(bake: Bake, task: str) -> None:
    """No module over 250 lines, no function over 40, click only in cli/, no grab-bag, no import circle."""
    package = bake(task=task) / "src" / "tumor_classifier"
    for path in sorted(package.rglob("*.py")):
        shown = path.relative_to(package).as_posix()
        lines = len(path.read_text().splitlines())
        assert lines <= MODULE_LINES, f"{shown}: {lines} lines, split it by role"
        assert not long_functions(path), f"{shown}: {long_functions(path)}"
        assert path.stem not in {
            "utils",
            "helpers",
            "misc",
            "common",
        }, f"{shown}: name it by its role"
        imports_click = re.search(r"^\s*(import click|from click\b)", path.read_text(), re.M)
        assert not imports_click or shown.startswith("cli/"), f"{shown}: only cli/ knows click"
    assert import_cycle(module_imports(package)) is None

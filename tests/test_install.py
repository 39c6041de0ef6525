"""A runtime-only install: `pip install policy-dsl` without extras scores with the packs and
brings none of the compiler's libraries; `policyc` there says which extra it needs."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from helpers import GENERATED, ROOT

COMPILER_MODULES = ("lark", "click", "jinja2", "pluggy", "yaml")
SAMPLE = ROOT / "examples" / "suzhou-inpatient.jsonl"

# Run by the fresh environment's Python: the README's "Using a pack from Python", nothing else.
SCORE_SAMPLE = """
import json, sys
from pathlib import Path
import policy_dsl
from policy_dsl.runtime import load_pack, outcome_json, read_records, score_batch

packs_dir, sample = Path(sys.argv[1]), Path(sys.argv[2])
pack = load_pack("suzhou/inpatient-2023", packs_dir=packs_dir)
records = read_records(sample.read_text("utf-8-sig"), "jsonl", sample.name)
for outcome in score_batch(pack, records):
    print(json.dumps(outcome_json(outcome), ensure_ascii=False))
loaded = sorted(m for m in sys.modules if m.startswith("policy_dsl.compiler"))
print(json.dumps({"policy_dsl": policy_dsl.__file__, "compiler_modules": loaded}))
"""


def run(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          encoding="utf-8", env=environment, check=False)


def test_runtime_only_install_scores_without_the_compiler(tmp_path: Path) -> None:
    """Build the wheel, install it without extras into a fresh venv (offline: it needs nothing
    from an index), and score the sample there exactly as `policyc score` does."""
    built = run(sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", tmp_path / "dist")
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("policy_dsl-*.whl")
    venv = tmp_path / "venv"
    made = run(sys.executable, "-m", "venv", "--without-pip", venv)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    pip = (sys.executable, "-m", "pip", "--python", python)
    installed = run(*pip, "install", "--quiet", "--no-index", wheel)
    assert installed.returncode == 0, installed.stderr
    checked = run(*pip, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    for module in COMPILER_MODULES:
        imported = run(python, "-c", f"import {module}", cwd=tmp_path)
        assert imported.returncode == 1, f"{module} is importable in a runtime-only install"
        assert f"No module named '{module}'" in imported.stderr

    scored = run(python, "-c", SCORE_SAMPLE, GENERATED, SAMPLE, cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    *result_lines, report = scored.stdout.splitlines()
    assert report.startswith('{"policy_dsl": "' + str(venv)), report  # the installed copy
    assert report.endswith('"compiler_modules": []}'), report
    by_cli = run(Path(sys.executable).with_name("policyc"), "score", "--pack",
                 "suzhou/inpatient-2023", "--packs", GENERATED, SAMPLE)
    assert by_cli.returncode == 0, by_cli.stderr
    assert result_lines == by_cli.stdout.splitlines()
    assert len(result_lines) == 4  # the sample's four hospitals

    policyc = run(venv / "bin" / "policyc", "score", "--pack", "suzhou/inpatient-2023", SAMPLE)
    assert policyc.returncode == 2
    assert policyc.stdout == ""
    assert policyc.stderr.startswith(
        "policyc needs the compiler extra: pip install 'policy-dsl[compiler]' (missing: ")
    assert len(policyc.stderr.splitlines()) == 1 and "Traceback" not in policyc.stderr


def test_the_development_install_is_consistent() -> None:
    checked = run(sys.executable, "-m", "pip", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_pytest_plugin_loads_without_the_compiler_extra(tmp_path: Path) -> None:
    """pytest loads the case-file plugin wherever policy_dsl is installed; without PyYAML it
    still collects ordinary tests, and a case file is a collection error saying what to
    install."""
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert 1 + 1 == 2\n")
    case_dir = tmp_path / "regions" / "x" / "tests"
    case_dir.mkdir(parents=True)
    (case_dir / "a.yaml").write_text("pack: x/y-2023\ncases: []\n")
    (tmp_path / "generated").mkdir()
    without_extra = (
        "import sys\n"
        "for name in ('yaml', 'lark', 'jinja2', 'click'):\n"
        "    sys.modules[name] = None  # import fails, as where they are not installed\n"
        "import pytest\n"
        "sys.exit(pytest.main(['-p', 'no:cacheprovider', '--rootdir', '.', sys.argv[1]]))\n")
    plain = run(sys.executable, "-c", without_extra, tmp_path / "test_plain.py", cwd=tmp_path)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "1 passed" in plain.stdout
    with_case_file = run(sys.executable, "-c", without_extra, tmp_path, cwd=tmp_path)
    assert with_case_file.returncode == 2, with_case_file.stdout + with_case_file.stderr
    assert ("case files need the compiler extra (yaml is not installed): "
            "pip install 'policy-dsl[compiler]'") in with_case_file.stdout


def _imported(path: Path) -> set[str]:
    """The absolute modules a file imports (relative imports stay within policy_dsl)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _imported_on_import(path: Path) -> set[str]:
    """The absolute modules a file imports when it is imported: its top-level statements,
    not a function's body (a lazy import) nor an `if TYPE_CHECKING:` block."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            continue
        for inner in ast.walk(node) if not isinstance(node, ast.FunctionDef | ast.ClassDef) \
                else ():
            if isinstance(inner, ast.Import):
                names.update(alias.name for alias in inner.names)
            elif isinstance(inner, ast.ImportFrom) and inner.level == 0 and inner.module:
                names.add(inner.module)
    return names


# The column lane's modules reach for numpy and pyarrow inside their functions only.
LAZY_EXTRAS = frozenset({"numpy", "pyarrow"})


def test_runtime_and_package_root_import_only_the_standard_library() -> None:
    package = ROOT / "src" / "policy_dsl"
    files = [package / "__init__.py", package / "console.py",
             *sorted((package / "runtime").rglob("*.py"))]
    for path in files:
        outside = {name for name in _imported_on_import(path)
                   if name.partition(".")[0] not in sys.stdlib_module_names}
        assert not outside, f"{path.relative_to(ROOT)} imports {sorted(outside)}"
        lazily = {name.partition(".")[0] for name in _imported(path)
                  if name.partition(".")[0] not in sys.stdlib_module_names}
        assert lazily <= LAZY_EXTRAS, f"{path.relative_to(ROOT)} imports {sorted(lazily)}"


def test_a_partial_install_is_told_what_is_missing(tmp_path: Path) -> None:
    """click installed but Lark not (as if uninstalled by hand): `policyc build` names the extra
    and what is missing, exit 2, rather than an internal error."""
    without_lark = (
        "import sys\n"
        "from importlib import metadata\n"
        "installed = metadata.distribution\n"
        "def distribution(name):\n"
        "    if name == 'lark':\n"
        "        raise metadata.PackageNotFoundError(name)\n"
        "    return installed(name)\n"
        "metadata.distribution = distribution\n"
        "sys.modules['lark'] = None\n"
        "sys.argv = ['policyc', 'build', '--root', sys.argv[1]]\n"
        "from policy_dsl.console import main\n"
        "main()\n")
    result = run(sys.executable, "-c", without_lark, tmp_path, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr == ("policyc needs the compiler extra: pip install "
                             "'policy-dsl[compiler]' (missing: lark)\n")

"""City plugins that misbehave: each is an error naming the plugin file, the hook and the
line, and the build fails (exit 1); nothing a plugin does ends or hangs the build.

Each test writes a plugin into `plugins/` of a temporary project (with Suzhou's rule files)
and builds it as `policyc build` does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import ROOT

from policy_dsl.compiler import pipeline, plugins
from policy_dsl.compiler.diagnostics import Diagnostic

PLUGIN = "plugins/city_test.py"
HEAD = textwrap.dedent('''\
    import datetime as dt
    import sys
    import time
    from decimal import Decimal

    from policy_dsl.plugin import CityStandard, DeductionCap, ItemPoints, hookimpl

    CITY = CityStandard(base="suzhou/outpatient-2023", name="test_outpatient",
                        title="测试（测试用）", version=2023,
                        effective_from=dt.date(2023, 1, 1), effective_to=dt.date(2023, 12, 31))


    @hookimpl
    def policyc_city_standards():
        return [CITY]
''')


def project(tmp_path: Path, plugin_text: str) -> tuple[Path, str]:
    """A project with Suzhou's rule files and one plugin; returns the root and the plugin's
    text."""
    (tmp_path / "regions" / "suzhou").mkdir(parents=True)
    for rule_file in (ROOT / "regions" / "suzhou").glob("*.policy"):
        shutil.copy(rule_file, tmp_path / "regions" / "suzhou" / rule_file.name)
    (tmp_path / "plugins").mkdir()
    (tmp_path / PLUGIN).write_text(plugin_text, encoding="utf-8")
    return tmp_path, plugin_text


def line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


def build_errors(root: Path) -> list[Diagnostic]:
    result = pipeline.build(root)
    assert not result.ok
    return [d for d, _ in result.diagnostics if d.severity == "error"]


def policyc_build(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from policy_dsl.cli import main; main()", "build", "--root",
         str(root)], capture_output=True, text=True, encoding="utf-8", timeout=120,
        env={**os.environ, "POLICYC_DEBUG": "", **env})


def hook(body: str, name: str = "policyc_item_points", parameters: str = "city") -> str:
    return HEAD + textwrap.dedent(f'''

        @hookimpl
        def {name}({parameters}):
        ''') + textwrap.indent(textwrap.dedent(body), "    ")


# ---------------------------------------------------------------- hooks that end or hang


def test_sys_exit_0_in_a_hook_fails_the_build_with_exit_1(tmp_path: Path) -> None:
    """Before, `sys.exit(0)` in a hook ended `policyc build` with exit 0, nothing built and
    nothing said."""
    root, text = project(tmp_path, hook("if city.name == 'test_outpatient':\n"
                                        "    sys.exit(0)\n"))
    run = policyc_build(root)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    line = line_of(text, "sys.exit(0)")
    assert (f"{PLUGIN}:{line}:9: error X302: plugin {PLUGIN}, hook policyc_item_points, "
            "called sys.exit(0) while running") in run.stderr
    assert "\n            ^^^^^^^^^^^\n" in run.stderr  # under sys.exit(0)
    assert "    sys.exit(0)" in run.stderr  # the plugin's line under the message
    assert "nothing was written" in run.stderr
    assert not (root / "generated").exists()


@pytest.mark.parametrize(("statement", "said"), [
    ("raise KeyboardInterrupt", "raised KeyboardInterrupt"),
    ("raise SystemExit('bye')", "called sys.exit('bye') while running"),
    ("raise BaseException('odd')", "raised BaseException: odd"),
    ("raise GeneratorExit", "raised GeneratorExit"),
    ("return 1 / 0", "raised ZeroDivisionError: division by zero"),
])
def test_a_hook_raising_anything_is_named_at_its_line(tmp_path: Path, statement: str,
                                                     said: str) -> None:
    root, text = project(tmp_path, hook(statement + "\n"))
    (error,) = build_errors(root)
    assert (error.code, error.span.file, error.span.line) == (
        "X302", PLUGIN, line_of(text, statement))
    assert error.message == f"plugin {PLUGIN}, hook policyc_item_points, {said}"


def test_a_hook_past_the_time_bound_is_abandoned_and_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hook sleeping 2 s against a bound of 0.3 s: X308 at the hook, the build goes on
    and fails in about the bound, not in 2 s."""
    monkeypatch.setenv("POLICYC_HOOK_SECONDS", "0.3")
    root, text = project(tmp_path, hook("for _ in range(200):\n    time.sleep(0.01)\n"))
    started = time.monotonic()
    (error,) = build_errors(root)
    assert time.monotonic() - started < 1.9
    assert (error.code, error.span.line) == ("X308", line_of(text, "@hookimpl\ndef policyc_item"))
    assert error.message == (f"plugin {PLUGIN}, hook policyc_item_points, did not finish "
                             "running within 0.3 s (abandoned)")


def test_a_hook_in_an_endless_loop_does_not_hang_policyc(tmp_path: Path) -> None:
    root, _ = project(tmp_path, hook("while True:\n    pass\n"))
    started = time.monotonic()
    run = policyc_build(root, POLICYC_HOOK_SECONDS="1")
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert time.monotonic() - started < 60
    assert f"error X308: plugin {PLUGIN}, hook policyc_item_points, did not finish running " \
        "within 1 s" in run.stderr


def test_the_time_bound_defaults_to_hook_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLICYC_HOOK_SECONDS", raising=False)
    assert plugins.hook_time_limit() == plugins.HOOK_TIME_LIMIT == 5
    for wrong in ("", "-1", "nan", "soon"):
        monkeypatch.setenv("POLICYC_HOOK_SECONDS", wrong)
        assert plugins.hook_time_limit() == 5


# ---------------------------------------------------------------- what hooks return


@pytest.mark.parametrize(("returned", "problems"), [
    ("[ItemPoints(number='1', points=None)]",
     ["ItemPoints with number='1': expected a whole number (1 or more)",
      "ItemPoints with points=None: expected points as a Decimal, an int or a text such as "
      "'2.5' (not a float)"]),
    ("[ItemPoints(number=1, points=2.5)]",
     ["ItemPoints with points=2.5: expected points as a Decimal"]),
    ("[ItemPoints(number=True, points=Decimal(1))]",
     ["ItemPoints with number=True: expected a whole number"]),
])
def test_wrong_types_inside_item_points_are_named(tmp_path: Path, returned: str,
                                                  problems: list[str]) -> None:
    root, text = project(tmp_path, hook(f"return {returned}\n"))
    found = build_errors(root)
    assert [d.code for d in found] == ["X303"] * len(problems)
    for error, problem in zip(found, problems, strict=True):
        assert error.message.startswith(f"plugin {PLUGIN}, hook policyc_item_points, "
                                        f"returned {problem}")
        assert error.span.line == line_of(text, "@hookimpl\ndef policyc_item_points")


@pytest.mark.parametrize(("returned", "problem"), [
    ("[DeductionCap(number=2, points=4, reason=None)]",
     "reason=None: expected a non-empty text"),
    ("[DeductionCap(number=2, points=4, reason='示例', citations='SZ2-2')]",
     "citations='SZ2-2': expected a list of reading ids such as ['SZ-1', 'G4'] (not one "
     "text)"),
    ("[DeductionCap(number=2, points=4, reason='示例', citations=['SZ2-2', 'x; import os'])]",
     "citations=['SZ2-2', 'x; import os']: expected a list of reading ids"),
])
def test_wrong_types_inside_deduction_caps_are_named(tmp_path: Path, returned: str,
                                                     problem: str) -> None:
    root, _ = project(tmp_path, hook(f"return {returned}\n", "policyc_deduction_caps"))
    (error,) = build_errors(root)
    assert error.code == "X303"
    assert error.message.startswith(f"plugin {PLUGIN}, hook policyc_deduction_caps, "
                                    f"returned DeductionCap with {problem}")


def test_a_right_typed_deduction_cap_still_builds(tmp_path: Path) -> None:
    root, _ = project(tmp_path, hook("return [DeductionCap(number=2, points='4', reason='示例',"
                                     " citations=['SZ2-2'])]\n", "policyc_deduction_caps"))
    result = pipeline.build(root)
    assert result.ok, [d.render() for d, _ in result.diagnostics]
    assert "suzhou/test-outpatient-2023" in {p.name for p in result.packs}


def test_a_city_named_like_its_base_is_reported_at_the_plugin(tmp_path: Path) -> None:
    """name 'outpatient', version 2023 under suzhou: the pack suzhou/outpatient-2023, which
    the rule file builds. Reported at the plugin's hook, not at the rule file."""
    root, text = project(tmp_path, HEAD.replace('name="test_outpatient"', 'name="outpatient"'))
    (error,) = build_errors(root)
    assert (error.code, error.span.file, error.span.line) == (
        "X310", PLUGIN, line_of(text, "@hookimpl\ndef policyc_city_standards"))
    assert error.message == (f"plugin {PLUGIN}: city standard outpatient would build pack "
                             "suzhou/outpatient-2023, which regions/suzhou/outpatient-2023.policy"
                             " builds already")


# ---------------------------------------------------------------- hooks pluggy would refuse or skip


def test_a_misnamed_parameter_is_x301_at_the_hook_not_exit_70(tmp_path: Path) -> None:
    root, text = project(tmp_path, hook("return None\n", parameters="cty"))
    run = policyc_build(root)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    line = line_of(text, "@hookimpl\ndef policyc_item_points")
    assert (f"{PLUGIN}:{line}:1: error X301: plugin {PLUGIN}: hook policyc_item_points takes "
            "'cty', which the hook does not give") in run.stderr
    assert "hint: policyc_item_points gives: city" in run.stderr


def test_a_hook_like_function_without_hookimpl_is_an_error(tmp_path: Path) -> None:
    text = HEAD + "\n\ndef policyc_item_points(city):\n    return [ItemPoints(1, 90)]\n"
    root, _ = project(tmp_path, text)
    (error,) = build_errors(root)
    assert (error.code, error.span.file, error.span.line) == (
        "X309", PLUGIN, line_of(text, "def policyc_item_points"))
    assert error.message == (f"plugin {PLUGIN}: function policyc_item_points is named like a "
                             "hook but is not marked @hookimpl, so it would never be called")


def test_an_unknown_hook_is_named_with_a_suggestion(tmp_path: Path) -> None:
    root, text = project(tmp_path, hook("return None\n", name="policyc_item_point"))
    (error,) = build_errors(root)
    assert (error.code, error.span.line) == ("X301", line_of(text, "@hookimpl\ndef policyc_item_"))
    assert error.hint == "did you mean policyc_item_points?"


# ---------------------------------------------------------------- plugins that fail at import


@pytest.mark.parametrize(("module_level", "column", "said"), [
    ("def broken(:\n", 12, "has a syntax error: invalid syntax"),
    ("raise RuntimeError('no config file')\n", 1, "raised RuntimeError: no config file"),
    ("sys.exit(3)\n", 1, "called sys.exit(3) while importing it"),
    ("raise KeyboardInterrupt\n", 1, "raised KeyboardInterrupt"),
])
def test_a_plugin_failing_at_import_is_x300_at_its_line(tmp_path: Path, module_level: str,
                                                         column: int, said: str) -> None:
    text = HEAD + "\n" + module_level
    root, _ = project(tmp_path, text)
    run = policyc_build(root)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    line = line_of(text, module_level)
    assert f"{PLUGIN}:{line}:{column}: error X300: plugin {PLUGIN} cannot be loaded: " \
        f"{said}" in run.stderr


def test_a_plugin_whose_import_does_not_end_is_abandoned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYC_HOOK_SECONDS", "0.3")
    root, _ = project(tmp_path, HEAD + "\nfor _ in range(200):\n    time.sleep(0.01)\n")
    (error,) = build_errors(root)
    assert (error.code, error.span.file) == ("X300", PLUGIN)
    assert error.message == (f"plugin {PLUGIN} cannot be loaded: did not finish importing it "
                             "within 0.3 s (abandoned)")


def test_an_installed_plugin_failing_at_import_names_its_entry_point(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A package registered under `policy_dsl.plugins` whose module calls sys.exit at import:
    X300 naming the module and the entry point; the build goes on to report it (exit 1)."""
    (tmp_path / "city_plugin_exits.py").write_text("import sys\nsys.exit(0)\n",
                                                   encoding="utf-8")
    dist = tmp_path / "city_plugin_exits-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: city-plugin-exits\n"
                                   "Version: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[policy_dsl.plugins]\nexits = city_plugin_exits\n",
                                           encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    root, _ = project(tmp_path / "project", HEAD)
    (error,) = build_errors(root)
    assert error.code == "X300"
    assert error.message == ("plugin city_plugin_exits (entry point exits in policy_dsl.plugins)"
                             " cannot be loaded: called sys.exit(0) while importing it")
    sys.modules.pop("city_plugin_exits", None)

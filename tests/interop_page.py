"""The compatibility page, ``docs/interop.md``, written from the test run itself.

Interoperability tests declare their scenarios per section (``declare``) and wrap each
engine's checks in ``cell(section, scenario, engine)``: the cell is green when the block
ran through, red when it raised. At the end of a complete run (the default test paths, no
``-k``/``-m``, nothing deselected) the page is rewritten from those cells; ``.ci/run`` then
checks that the committed page is the one the run produced. A partial run leaves it alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "interop.md"


@attrs.frozen
class Section:
    key: str
    title: str
    intro: str
    engines: tuple[str, ...]


@attrs.define
class _Registry:
    sections: dict[str, Section] = attrs.Factory(dict)
    scenarios: dict[str, dict[str, str]] = attrs.Factory(dict)  # section -> name -> checks
    results: dict[tuple[str, str, str], str] = attrs.Factory(dict)
    deselected: int = 0


REGISTRY = _Registry()


def declare(section: Section, scenarios: dict[str, str]) -> None:
    """Declare a section's scenarios (name -> what is checked), in page order."""
    REGISTRY.sections[section.key] = section
    REGISTRY.scenarios.setdefault(section.key, {}).update(scenarios)


@contextlib.contextmanager
def cell(section: Section, scenario: str, engine: str) -> Iterator[None]:
    """Run one engine's checks of one scenario; the page shows whether they passed."""
    assert scenario in REGISTRY.scenarios[section.key], scenario
    assert engine in section.engines, engine
    key = (section.key, scenario, engine)
    try:
        yield
    except BaseException:
        REGISTRY.results[key] = "fail"
        raise
    if REGISTRY.results.get(key) != "fail":  # a cell checked twice stays red once red
        REGISTRY.results[key] = "pass"


def not_applicable(section: Section, scenario: str, engine: str, reason: str) -> None:
    REGISTRY.results[(section.key, scenario, engine)] = f"n/a: {reason}"


_SYMBOL = {"pass": "✅ pass", "fail": "❌ FAIL", None: "⚠️ not run"}


def render() -> str:
    lines = [
        "# Interoperability",
        "",
        "Written by the test suite at the end of a complete run (`tests/interop_page.py`);",
        "do not edit by hand. A cell is green when every check of that scenario against that",
        "engine passed in the run that wrote this page.",
        "",
    ]
    for key, section in REGISTRY.sections.items():
        lines += [f"## {section.title}", "", section.intro, ""]
        lines.append("| scenario | checks | " + " | ".join(section.engines) + " |")
        lines.append("|---|---|" + "---|" * len(section.engines))
        for name, checks in REGISTRY.scenarios[key].items():
            cells = []
            for engine in section.engines:
                result = REGISTRY.results.get((key, name, engine))
                if result is not None and result.startswith("n/a"):
                    cells.append(result)
                else:
                    cells.append(_SYMBOL[result])
            lines.append(f"| {name} | {checks} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _complete_run(session: pytest.Session) -> bool:
    config = session.config
    return (
        config.args_source == pytest.Config.ArgsSource.TESTPATHS
        and not config.getoption("keyword")
        and not config.getoption("markexpr")
        and not config.getoption("lf", False)
        and not config.getoption("deselect", None)
        and REGISTRY.deselected == 0
        and not config.getoption("collectonly")
    )


def pytest_deselected(items: list[pytest.Item]) -> None:
    REGISTRY.deselected += len(items)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if REGISTRY.sections and _complete_run(session) and exitstatus != pytest.ExitCode.INTERRUPTED:
        PAGE.write_text(render(), encoding="utf-8")

"""Render the hook reference (docs/plugins/hooks.md) from the hookspecs themselves.

Regenerate with ``python -m twores.plugins.reference > docs/plugins/hooks.md``; a test fails
when the file is stale or a hook lacks a docstring with an example.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from twores.plugins import hookspecs

INTRO = """\
# Hook reference / 钩子参考

Generated from `twores.plugins.hookspecs` by `python -m twores.plugins.reference`; do not
edit by hand. Implement hooks with the `hookimpl` marker from `twores.plugins`; an
implementation may accept fewer arguments than the spec lists.

**Registration hooks** return records; a rule-set, storage-backend or command name two
plugins register fails naming both, a KPI named like an earlier one replaces it (see
`twores_kpis`), and a command named like a built-in is not added (the command line says
so). **Decision hooks** are `firstresult`: the first plugin to return a
`Ruling(value, rule, detail_zh, detail_en)` decides and `None` abstains; the national
baseline answers each of them with `trylast=True`. A ruling under a rule not in force on the
date asked counts as abstaining (so a dated regional rule leaves earlier years to the next
plugin, finally the national one). The manager checks that the deciding rule is registered
through `twores_rule_sets` and that the value has the right type and makes sense (a cadre
tier below province, a load cap and a deadline of at least 1, no more visits than the period
has days); an exception raised inside
a hook is reported as a `PluginError` naming the plugin and the hook, and a plugin that
cannot be loaded (a misspelt hook or argument name) likewise. `decision.explain()` names the
plugin and the rule, and the plugins that abstained.

Every decision hook receives `area_path`: the area codes from the province down to the area
concerned. Test your region with `"15" in area_path`. For a non-standard unit (a development
zone) the path comes from the hierarchy: the app's (`app.use_hierarchy(...)`), else the areas
of the store `open_store` opened (so every command and web request finds the zone's region),
else the statistical code the zone's own code starts with (`4503-KFQ` lies under 4503); a
zone coded otherwise and known nowhere is its own path.

Bulk work (scheduling a province, counting KPIs) remembers each answer per the arguments
the rules read, so a rule that takes `area_path` is asked once per village. A rule that
reads the path only down to some tier says so with `@reads_area_down_to(Tier.PROVINCE)`
(from `twores.plugins`, under `@hookimpl`); it is then asked once per province, and must
give the same answer for every area below one.
"""


def hookspec_functions() -> list[Callable[..., Any]]:
    """Every hookspec, in source order."""
    functions = [
        fn
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("twores_")
    ]
    return sorted(functions, key=lambda fn: inspect.getsourcelines(fn)[1])


def signature(fn: Callable[..., Any]) -> str:
    return f"{fn.__name__}({', '.join(inspect.signature(fn).parameters)})"


def _markdown(doc: str) -> str:
    lines: list[str] = []
    in_code = False
    for line in inspect.cleandoc(doc).splitlines():
        if line.rstrip().endswith("::"):
            lines.append(line.rstrip()[:-1])
            lines.append("")
            lines.append("```python")
            in_code = True
            continue
        if in_code and lines[-1] == "```python" and not line.strip():
            continue
        if in_code and line and not line.startswith("    "):
            lines.append("```")
            in_code = False
        lines.append(line[4:] if in_code else line)
    while lines and not lines[-1].strip():
        lines.pop()
    if in_code:
        lines.append("```")
    return "\n".join(lines).replace("\n\n```\n", "\n```\n")


def render() -> str:
    parts = [INTRO]
    for fn in hookspec_functions():
        opts = getattr(fn, "twores_spec", {}) or {}
        shape = "decision (`firstresult`)" if opts.get("firstresult") else "registration"
        parts.append(f"## {signature(fn)}\n\n*{shape} hook*\n\n{_markdown(fn.__doc__ or '')}\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")

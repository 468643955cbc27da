"""Counting KPIs through the backend's summary: only counties written since their counts
were stored are recounted from raw rows; the rest are read back.

Stored counts carry the counter's identity (and the rule versions) and the county's change
stamp: the sum of its change versions of the kinds of record the KPI reads. They are used
only when both still match, so they always equal a recount from raw rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

from twores.core.areas import Hierarchy, Tier
from twores.core.kpis import Counts, Kpi, KpiInput, counted, county_key
from twores.core.ports import KpiSummary, SummaryState

#: Above this many stale counties, one recount of the whole area is split by county.
_ONE_PASS = 8


def stamp(versions: Mapping[str, int], reads: frozenset[str] | None) -> int:
    return sum(v for source, v in versions.items() if reads is None or source in reads)


def _recount(
    kpi: Kpi,
    stale: list[str],
    within: str | None,
    facts: Callable[[str | None], KpiInput],
    hierarchy: Hierarchy,
) -> dict[str, dict[str, tuple[int, int]]]:
    above = any(hierarchy[c].tier.depth < Tier.COUNTY.depth for c in stale)
    if above or len(stale) > _ONE_PASS:
        parts: list[Counts] = [counted(kpi, facts(within), hierarchy)]
    else:
        parts = [counted(kpi, facts(c), hierarchy) for c in stale]
    by_county: dict[str, dict[str, tuple[int, int]]] = {}
    for counts in parts:
        for area, value in counts.items():
            by_county.setdefault(county_key(hierarchy, area), {})[area] = value
    return by_county


def refresh(
    summary: KpiSummary,
    kpis: Mapping[str, Kpi],
    counties: list[str],
    period: str,
    as_of: date,
    *,
    within: str | None,
    facts: Callable[[str | None], KpiInput],
    hierarchy: Hierarchy,
    rules: str,
    recount: bool = True,
) -> dict[tuple[str, str], SummaryState] | None:
    """Recount the stale counties of each KPI and store them; every (KPI, county) state.
    With ``recount=False``: None as soon as anything is stale (a read-only pass). A recount
    first waits for any other process recounting (it may have stored the same counts)."""
    if recount:
        summary.claim()
    versions = summary.versions(counties)
    states = summary.states(period, as_of, counties)
    for name, kpi in kpis.items():
        counter = f"{kpi.counter_id}|{rules}"
        stamps = {c: stamp(versions[c], kpi.reads) for c in counties}
        stale = []
        for c in counties:
            state = states.get((name, c))
            if state is None or state.counter != counter or state.stamp != stamps[c]:
                stale.append(c)
        if not stale:
            continue
        if not recount:
            return None
        recounted = _recount(kpi, stale, within, facts, hierarchy)
        fresh = {c: (stamps[c], recounted.get(c, {})) for c in stale}
        summary.store(period, as_of, name, counter, fresh)
        for c, (at, leaves) in fresh.items():
            n, d = sum(v[0] for v in leaves.values()), sum(v[1] for v in leaves.values())
            states[(name, c)] = SummaryState(counter, at, n, d)
    return states

"""Counting KPIs through the backend's summary: only counties written since their counts
were stored are recounted from raw rows; the rest are read back.

Stored counts carry the counter's identity (and the rule versions) and the county's change
stamp: the sum of its change versions of the kinds of record the KPI reads. They are used
only when both still match, so they always equal a recount from raw rows.

A read never waits for a writer: stale counties are recounted in the reader's own snapshot
(:func:`refresh`), and stored afterwards only if the summary's claim is free at once and
the counties' versions read back unchanged under it (:func:`keep`); otherwise the recount
is answered and not stored (a later read stores it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

import attrs

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


@attrs.frozen
class Recount:
    """One KPI's counts recounted in a unit's snapshot, not yet stored."""

    counter: str
    #: The kinds of record the KPI reads (None: any), which its stamps sum.
    reads: frozenset[str] | None
    #: county -> (stamp, area -> counts), the stamp of the versions read before counting.
    counts: dict[str, tuple[int, dict[str, tuple[int, int]]]]


@attrs.frozen
class Refreshed:
    """Every (KPI, county) state as of the unit's snapshot, stored or recounted, and the
    recounts to store (:func:`keep`)."""

    states: dict[tuple[str, str], SummaryState]
    recounts: dict[str, Recount]

    def stale(self, kpi: str) -> frozenset[str]:
        """The counties of ``kpi`` recounted (their stored counts, if any, are old)."""
        found = self.recounts.get(kpi)
        return frozenset(found.counts) if found is not None else frozenset()


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
) -> Refreshed | None:
    """Every (KPI, county) state, the stale counties of each KPI recounted from raw rows in
    the unit's snapshot (nothing is claimed or stored here: see :func:`keep`). With
    ``recount=False``: None as soon as anything is stale (a read-only pass)."""
    versions = summary.versions(counties)
    states = summary.states(period, as_of, counties)
    recounts: dict[str, Recount] = {}
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
        recounts[name] = Recount(counter, kpi.reads, fresh)
        for c, (at, leaves) in fresh.items():
            n, d = sum(v[0] for v in leaves.values()), sum(v[1] for v in leaves.values())
            states[(name, c)] = SummaryState(counter, at, n, d)
    return Refreshed(states, recounts)


def keep(
    summary: KpiSummary,
    found: Refreshed,
    period: str,
    as_of: date,
    *,
    unchanged: Callable[[], bool] = lambda: True,
) -> bool:
    """Store the recounts of :func:`refresh` — the unit's last step: the claim may begin it
    again. Only if the summary's claim is free at once (no other unit storing, and on
    SQLite no writer at all: a read never waits for one) and then ``unchanged()`` holds (the
    hierarchy, say); only the counties whose versions of what the KPI reads are still those
    counted from (versions only grow and every write bumps them, so the recount is still
    what a recount would give). True when every recount was stored."""
    if not found.recounts:
        return True
    if not summary.try_claim() or not unchanged():
        return False
    counties = sorted({c for r in found.recounts.values() for c in r.counts})
    versions = summary.versions(counties)
    complete = True
    for name, recount in found.recounts.items():
        still = {
            c: value
            for c, value in recount.counts.items()
            if stamp(versions[c], recount.reads) == value[0]
        }
        complete = complete and len(still) == len(recount.counts)
        if still:
            summary.store(period, as_of, name, recount.counter, still)
    return complete

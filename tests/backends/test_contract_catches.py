"""The contract suite fails a backend that breaks what it claims to cover: each store here
is the memory store with one repository method broken, and the contract tests named for it
must fail (while the unbroken store passes them)."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

BROKEN_STORES = '''
from twores.core.ports import UpsertResult
from twores.plugins.builtin.memory import MemoryStore, MemoryUnitOfWork
from twores.testing.backend_contract import BackendContract


class Proxy:
    def __init__(self, inner, **over):
        self._inner = inner
        self.__dict__.update(over)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def store_with(repo, **make):
    """The memory store with methods of one repository replaced: make[name](inner, uow)."""

    class UoW(MemoryUnitOfWork):
        def __init__(self, store, scope):
            super().__init__(store, scope)
            inner = getattr(self, repo)
            setattr(self, repo, Proxy(inner, **{n: f(inner, self) for n, f in make.items()}))

    class Store(MemoryStore):
        def unit_of_work(self, scope):
            return UoW(self, scope)

    return Store


def everything(uow, table):
    rows = getattr(uow._state, table)
    return [rows[k] for k in sorted(rows)]


BROKEN = {
    "Unbroken": store_with("cadres"),
    "CadreGetIgnoresScope": store_with(
        "cadres", get=lambda i, u: lambda cid: u._state.cadres.get(cid)
    ),
    "CadreGetManyIgnoresScope": store_with(
        "cadres",
        get_many=lambda i, u: lambda ids: {x: c for x in ids if (c := u._state.cadres.get(x))},
    ),
    "CadreStreamIgnoresScope": store_with(
        "cadres",
        stream=lambda i, u: lambda *, within=None: (
            iter(everything(u, "cadres")) if within is None else i.stream(within=within)
        ),
    ),
    "CadreCountIgnoresScope": store_with(
        "cadres",
        count=lambda i, u: lambda *, within=None: (
            len(u._state.cadres) if within is None else i.count(within=within)
        ),
    ),
    "AssignmentStreamIgnoresScope": store_with(
        "assignments",
        stream=lambda i, u: lambda **kw: iter(everything(u, "assignments")) if not kw else (
            i.stream(**kw)
        ),
    ),
    "AssignmentStreamIgnoresCountyCode": store_with(
        "assignments",
        stream=lambda i, u: lambda *, county_code=None, **kw: i.stream(**kw),
    ),
    "TaskCountyCodesEmpty": store_with(
        "tasks", county_codes=lambda i, u: lambda *, within=None: []
    ),
    "BusinessGetManyDropsOne": store_with(
        "businesses",
        get_many=lambda i, u: lambda keys: dict(sorted(i.get_many(keys).items())[:-1])
        if len(keys) > 1
        else i.get_many(keys),
    ),
    "CadreGetManyDropsOne": store_with(
        "cadres",
        get_many=lambda i, u: lambda ids: dict(sorted(i.get_many(ids).items())[:-1])
        if len(ids) > 1
        else i.get_many(ids),
    ),
    "CadreCountOffByOne": store_with(
        "cadres",
        count=lambda i, u: lambda *, within=None: i.count(within=within) + (within is None),
    ),
    "CadreUpsertHidesUnchanged": store_with(
        "cadres",
        upsert_many=lambda i, u: lambda cadres: (
            lambda r: UpsertResult(r.inserted, r.updated, 0)
        )(i.upsert_many(cadres)),
    ),
}

for name, cls in BROKEN.items():
    globals()[f"Test{name}"] = type(
        f"Test{name}",
        (BackendContract,),
        {"make_store": (lambda c: lambda self, tmp_path: c())(cls)},
    )
'''

SCOPE = "test_scope_limits_cadre_and_assignment_reads"
BY_COUNTY = "test_streams_by_county_for_assignments_and_tasks"
GET_MANY = "test_get_many_gives_every_stored_key_asked_for"
COUNTS = "test_streams_and_counts_within_an_area"
REWRITE = "test_rewriting_the_same_data_changes_nothing_and_audits_nothing"

#: each broken store, and the contract test that must fail on it
CAUGHT_BY = {
    "CadreGetIgnoresScope": SCOPE,
    "CadreGetManyIgnoresScope": SCOPE,
    "CadreStreamIgnoresScope": SCOPE,
    "CadreCountIgnoresScope": SCOPE,
    "AssignmentStreamIgnoresScope": SCOPE,
    "AssignmentStreamIgnoresCountyCode": BY_COUNTY,
    "TaskCountyCodesEmpty": BY_COUNTY,
    "BusinessGetManyDropsOne": GET_MANY,
    "CadreGetManyDropsOne": GET_MANY,
    "CadreCountOffByOne": COUNTS,
    "CadreUpsertHidesUnchanged": REWRITE,
}


def test_the_contract_fails_each_broken_backend(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_broken=textwrap.dedent(BROKEN_STORES))
    wanted = sorted(set(CAUGHT_BY.values()))
    nodes = [
        f"test_broken.py::Test{name}::{test}" for name in CAUGHT_BY for test in [CAUGHT_BY[name]]
    ]
    nodes += [f"test_broken.py::TestUnbroken::{test}" for test in wanted]
    result = pytester.inline_run(*nodes, "-p", "no:cacheprovider", "-p", "no:randomly")
    passed, skipped, failed = result.listoutcomes()
    outcome = {r.nodeid.split("[")[0]: "failed" for r in failed}
    for report in passed:
        outcome.setdefault(report.nodeid.split("[")[0], "passed")
    assert not skipped
    for test in wanted:  # the tests themselves pass on a correct store
        assert outcome.get(f"test_broken.py::TestUnbroken::{test}") == "passed", test
    missed = {
        name: test
        for name, test in CAUGHT_BY.items()
        if outcome.get(f"test_broken.py::Test{name}::{test}") != "failed"
    }
    assert missed == {}, f"the contract passes these broken backends: {missed}"

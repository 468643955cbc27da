"""The demo runs a year of quarterly supervision end to end, and running it again changes
nothing."""

from __future__ import annotations

from pathlib import Path

import twores
from twores.services.demo import run_demo


def test_the_demo_runs_a_year_of_quarters_and_is_idempotent(tmp_path: Path) -> None:
    app = twores.build(load_entrypoints=False)
    db, out = str(tmp_path / "demo.db"), tmp_path / "out"
    first = run_demo(app, db=db, businesses=600, cadres=150, folder=out)
    assert first.violations == 0 and first.cycle is not None
    quarters = first.cycle.quarters
    assert [str(q.period) for q in quarters] == ["2025Q3", "2025Q4", "2026Q1", "2026Q2"]
    for quarter in quarters:
        assert quarter.tasks == first.businesses
        assert 0.7 * quarter.tasks < quarter.visits < quarter.tasks
    assert all(path.exists() for path in first.cycle.files)
    last = first.cycle.last
    done = first.cycle.kpis.value("task_completion", "4503")
    assert done.numerator == last.visits and done.denominator == last.tasks
    again = run_demo(
        twores.build(load_entrypoints=False), db=db, businesses=600, cadres=150, folder=out
    )
    assert again.audit_entries == first.audit_entries  # nothing changed, nothing audited
    assert again.cycle is not None and again.cycle.problems_opened == 0
    # the re-run still reports the problems its visits found (recorded by the first run)
    found = [q.problems_found for q in first.cycle.quarters]
    assert [q.problems_opened for q in first.cycle.quarters] == found and sum(found) > 0
    assert [q.problems_found for q in again.cycle.quarters] == found


def test_the_demo_bulletin_reads_right(tmp_path: Path) -> None:
    import docx

    app = twores.build(load_entrypoints=False)
    report = run_demo(
        app, db=str(tmp_path / "demo.db"), businesses=600, cadres=150, folder=tmp_path
    )
    assert report.cycle is not None
    kpis = report.cycle.kpis
    rates = {name: kpis.value(name, "4503").rate for name in kpis.values}
    simulated = ("coverage", "data_complete", "officer_staffed", "director_staffed")
    for name in (*simulated, "monthly_routine"):
        assert rates[name] is not None and 0.5 < rates[name] <= 1.0, (name, rates[name])
    letters = rates["letters_signed"]
    assert letters is not None and 0.6 < letters < 0.95  # four in five signed
    markdown = next(p for p in report.cycle.files if p.suffix == ".md").read_text()
    assert "桂林市" in markdown and "周通报（2026年第27周，截至2026年6月30日）" in markdown
    counties = [a.name for a in app.hierarchy.children("4503")]
    assert sum(name in markdown for name in counties) >= 5  # the ranking names the counties
    named = markdown.split("点名通报\n", 1)[1].split("##", 1)[0]
    assert "予以点名通报" in named and sum(name in named for name in counties) == 3
    for heading in ("总体情况", "排名情况", "较上期变化", "逾期未整改问题", "指标图表"):
        assert f"、{heading}\n" in markdown
    document = docx.Document(str(next(p for p in report.cycle.files if p.suffix == ".docx")))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "点名通报" in text and len(document.inline_shapes) >= 1  # charts as images

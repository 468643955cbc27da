"""twores: the food-safety "two responsibilities" (两个责任) mechanism as a library.

Importing this package loads neither SQLAlchemy nor any web framework.
"""

from __future__ import annotations

from twores.bootstrap import Twores, build
from twores.core.areas import Area, Hierarchy, Tier, canonical_area_code
from twores.core.assignment import (
    Assignment,
    AssignmentReason,
    Plan,
    PlanMode,
    apply_plan,
    explain,
    plan_assignments,
)
from twores.core.businesses import (
    BusinessType,
    CanteenKind,
    FoodBusiness,
    Grade,
    OperatingStatus,
    RiskLevel,
    Scale,
    Staff,
    StaffMember,
)
from twores.core.cadres import Cadre
from twores.core.convert import make_converter
from twores.core.duties import DutyKind, DutyRecord, StaffRole
from twores.core.errors import (
    InvalidValueError,
    NotFoundError,
    PluginError,
    SchemaNewerError,
    SchemaOutdatedError,
    SchemaVersionError,
    StructureError,
    TworesError,
    UnitEndedError,
    UnitFailedError,
    UnitInUseError,
)
from twores.core.errors import labelled as labelled_field
from twores.core.invariants import Violation, hierarchy_violations, roster_violations
from twores.core.letters import Letter, LetterStatus
from twores.core.periods import Frequency, Period, PeriodKind, end_after, last_day, today
from twores.core.ports import ImportRecord, Store, UnitOfWork, UpsertResult
from twores.core.problems import (
    Action,
    Problem,
    ProblemEvent,
    ProblemSource,
    ProblemStatus,
    Severity,
)
from twores.core.roster import (
    BusinessCloses,
    BusinessMoves,
    BusinessOpens,
    BusinessRegraded,
    CadreJoins,
    CadreLeaves,
    CadreMoves,
    Roster,
    RosterChange,
    RuleBook,
)
from twores.core.rules import Decision, Rule, RuleSet, Ruling
from twores.core.security import Role, Scope, ScopeError
from twores.core.supervision import (
    NATIONAL_CHECKLIST,
    Checklist,
    SupervisionTask,
    Visit,
    VisitMode,
)

__version__ = "0.1.0"

__all__ = [
    "NATIONAL_CHECKLIST",
    "Action",
    "Area",
    "Assignment",
    "AssignmentReason",
    "BusinessCloses",
    "BusinessMoves",
    "BusinessOpens",
    "BusinessRegraded",
    "BusinessType",
    "Cadre",
    "CadreJoins",
    "CadreLeaves",
    "CadreMoves",
    "CanteenKind",
    "Checklist",
    "Decision",
    "DutyKind",
    "DutyRecord",
    "FoodBusiness",
    "Frequency",
    "Grade",
    "Hierarchy",
    "ImportRecord",
    "InvalidValueError",
    "Letter",
    "LetterStatus",
    "NotFoundError",
    "OperatingStatus",
    "Period",
    "PeriodKind",
    "Plan",
    "PlanMode",
    "PluginError",
    "Problem",
    "ProblemEvent",
    "ProblemSource",
    "ProblemStatus",
    "RiskLevel",
    "Role",
    "Roster",
    "RosterChange",
    "Rule",
    "RuleBook",
    "RuleSet",
    "Ruling",
    "Scale",
    "SchemaNewerError",
    "SchemaOutdatedError",
    "SchemaVersionError",
    "Scope",
    "ScopeError",
    "Severity",
    "Staff",
    "StaffMember",
    "StaffRole",
    "Store",
    "StructureError",
    "SupervisionTask",
    "Tier",
    "Twores",
    "TworesError",
    "UnitEndedError",
    "UnitFailedError",
    "UnitInUseError",
    "UnitOfWork",
    "UpsertResult",
    "Violation",
    "Visit",
    "VisitMode",
    "__version__",
    "apply_plan",
    "build",
    "canonical_area_code",
    "end_after",
    "explain",
    "hierarchy_violations",
    "labelled_field",
    "last_day",
    "make_converter",
    "plan_assignments",
    "roster_violations",
    "today",
]

"""The shipped roster-churn state machine, run as our users run it."""

from __future__ import annotations

from hypothesis import settings

from twores.testing import RosterChurn


class NationalChurn(RosterChurn):
    regions = ()


TestNationalChurn = NationalChurn.TestCase
TestNationalChurn.settings = settings(stateful_step_count=12, deadline=None)

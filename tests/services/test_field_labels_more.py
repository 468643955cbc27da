"""Errors naming ``actor`` or ``status`` show the field's label, not its raw name."""

from __future__ import annotations

import pytest

from twores.core.businesses import OperatingStatus
from twores.core.errors import FIELD_LABELS, InvalidValueError, field_label
from twores.core.security import Scope


def test_actor_has_a_bilingual_label() -> None:
    assert FIELD_LABELS["actor"] == ("操作人", "actor")
    assert field_label("scope.actor", "zh") == "操作人"


def test_a_blank_actor_is_named_in_both_languages() -> None:
    with pytest.raises(InvalidValueError) as caught:
        Scope(actor="  ", role="office")
    error = caught.value
    assert error.field == "actor"
    assert "操作人（actor）" in error.message("zh")
    assert error.message("en").startswith("invalid actor value")


def test_a_bad_status_is_named_in_both_languages() -> None:
    with pytest.raises(InvalidValueError) as caught:
        OperatingStatus.parse("倒闭了", field="status")
    assert "经营状态（status）" in caught.value.message("zh")
    assert "operating status (status)" in caught.value.message("en")

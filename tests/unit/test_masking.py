"""Masked personal data hides enough that it cannot be read back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twores.core.security import mask_id_number, mask_phone


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("07735812345", "077****2345"),  # a landline with its area code
        ("68123456", "****3456"),  # without it: never 7 of its 8 digits
        ("5812345", "****345"),
        ("12345", "***45"),
    ],
)
def test_a_phone_number_is_masked_by_its_length(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@given(st.text("0123456789", min_size=1, max_size=20))
def test_a_masked_phone_hides_at_least_half_and_at_least_four_digits_of_long_ones(
    phone: str,
) -> None:
    masked = mask_phone(phone)
    assert masked is not None and len(masked) == len(phone)
    hidden = masked.count("*")
    assert hidden * 2 >= len(phone) - 3 if len(phone) >= 11 else hidden * 2 >= len(phone)
    assert all(m in ("*", p) for m, p in zip(masked, phone, strict=True))


def test_an_id_number_keeps_its_region_and_last_four() -> None:
    assert mask_id_number("11010519491231002X") == "110105********002X"

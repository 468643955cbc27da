"""Our fast USCC check digit is stdnum's, for every canonical code."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc

from twores.core.businesses import uscc_check_digit

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
codes = st.builds(
    lambda head, tail: head + tail,
    st.text("0123456789", min_size=8, max_size=8),
    st.text(_ALPHABET, min_size=10, max_size=10),
)


@given(codes)
def test_check_digit_equals_stdnum(code: str) -> None:
    assert uscc_check_digit(code) == uscc.calc_check_digit(code)

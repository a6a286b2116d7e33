"""Estonian reference numbers (7-3-1) and RF creditor references (I3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.invoicing import references

BASES = st.integers(min_value=1, max_value=10**19 - 1)


def test_the_pangaliit_example():
    assert references.make_reference(12131295) == "121312952"
    assert references.display("121312952") == "1213 1295 2"
    assert references.is_valid_estonian("1213 1295 2")


@given(BASES)
def test_every_generated_reference_is_valid(base):
    reference = references.make_reference(base)
    assert reference.startswith(str(base))
    assert references.is_valid_estonian(reference)
    assert references.validate(references.display(reference)) == reference


@given(BASES, st.integers(min_value=1, max_value=9))
def test_a_changed_check_digit_is_refused(base, shift):
    reference = references.make_reference(base)
    wrong = reference[:-1] + str((int(reference[-1]) + shift) % 10)
    assert not references.is_valid_estonian(wrong)


@given(BASES, st.data())
def test_a_single_mistyped_digit_is_caught(base, data):
    reference = references.make_reference(base)
    position = data.draw(st.integers(min_value=0, max_value=len(reference) - 2))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != reference[position]]))
    typo = reference[:position] + digit + reference[position + 1:]
    # 7, 3 and 1 are coprime with 10: any single changed digit changes the check digit.
    assert not references.is_valid_estonian(typo)


@given(BASES)
def test_rf_reference_carries_the_estonian_one(base):
    estonian = references.make_reference(base)
    rf = references.rf_from_estonian(estonian)
    assert rf.startswith("RF") and rf.endswith(estonian)
    assert references.is_valid_rf(rf)
    assert references.validate(references.display(rf)) == rf


@pytest.mark.parametrize("text", ["", "1", "12a", "123456789012345678901", "RF00 1234",
                                  "RF18539007547035", "121312953"])
def test_invalid_entries_are_refused(text):
    with pytest.raises(references.InvalidReference):
        references.validate(text)


def test_the_iso_11649_example_is_valid():
    assert references.validate("RF18 5390 0754 7034") == "RF18539007547034"

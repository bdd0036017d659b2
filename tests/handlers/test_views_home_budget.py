"""Sharing a block budget between lists: fair, never over, never leaving room unused."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block, DividerBlock

from handlers.views.block_budget import fit_counts, fitted


def rows(*sizes: int) -> list[list[Block]]:
    return [[DividerBlock() for _ in range(size)] for size in sizes]


def used(lists: list[list[list[Block]]], counts: list[int]) -> int:
    return sum(
        sum(len(r) for r in listing[:n]) + (1 if n < len(listing) else 0)
        for listing, n in zip(lists, counts, strict=True)
    )


def test_everything_fits_when_there_is_room() -> None:
    lists = [rows(2, 2), rows(1), []]
    assert fit_counts(lists, 10) == [2, 1, 0]


def test_lists_take_turns_and_each_cut_list_keeps_room_for_its_more_line() -> None:
    lists = [rows(*[2] * 50), rows(*[1] * 50)]
    counts = fit_counts(lists, 20)
    assert counts == [6, 6]  # 12 + 6 blocks of rows, plus two "more" lines
    assert used(lists, counts) == 20


def test_the_more_line_counts_what_was_left_out() -> None:
    blocks = fitted(rows(1, 1, 1), 1, "use `/x`")
    assert len(blocks) == 2
    assert blocks[1].to_dict()["elements"][0]["text"] == "and 2 more — use `/x`"
    assert len(fitted(rows(1, 1), 2, "hint")) == 2


@given(
    sizes=st.lists(st.lists(st.integers(1, 3), max_size=40), max_size=5),
    budget=st.integers(0, 100),
)
def test_counts_stay_within_budget_and_cannot_grow(sizes: list[list[int]], budget: int) -> None:
    lists = [rows(*s) for s in sizes]
    counts = fit_counts(lists, budget)
    total = used(lists, counts)
    cut_lines = sum(1 for listing in lists if listing)
    if cut_lines <= budget:
        assert total <= budget
    for i, listing in enumerate(lists):
        if counts[i] < len(listing):
            grown = [*counts]
            grown[i] += 1
            assert used(lists, grown) > budget

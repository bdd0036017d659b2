"""Fitting several lists of rows into a surface's block limit, with an "and N more" line."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject

HOME_BLOCKS_MAX = 100

Row = Sequence[Block]


def _used(rows: Sequence[Sequence[Row]], counts: Sequence[int]) -> int:
    """Blocks the first ``counts`` rows of each list take, plus one "more" line per cut list."""
    total = 0
    for listing, count in zip(rows, counts, strict=True):
        total += sum(len(row) for row in listing[:count])
        if count < len(listing):
            total += 1
    return total


def fit_counts(rows: Sequence[Sequence[Row]], budget: int) -> list[int]:
    """How many leading rows of each list fit ``budget`` blocks, shared out one row at a time.

    Taking rows in turns keeps one long list from crowding out the others; a list that is cut
    needs one more block for its "and N more" line, which the count accounts for.
    """
    counts = [0] * len(rows)
    grew = True
    while grew:
        grew = False
        for i, listing in enumerate(rows):
            if counts[i] >= len(listing):
                continue
            trial = [*counts]
            trial[i] += 1
            if _used(rows, trial) <= budget:
                counts = trial
                grew = True
    return counts


def more_line(hidden: int, hint: str) -> ContextBlock:
    """``and 12 more — <hint>``; ``hint`` is trusted mrkdwn."""
    text = f"and {hidden} more — {hint}" if hint else f"and {hidden} more"
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def fitted(rows: Sequence[Row], count: int, hint: str) -> list[Block]:
    """The first ``count`` rows flattened, followed by a "more" line when some were left out."""
    blocks = [block for row in rows[:count] for block in row]
    if count < len(rows):
        blocks.append(more_line(len(rows) - count, hint))
    return blocks

"""How far a request of several approvals has come, in words: "1 of 2: approved by @Olivia"."""

from __future__ import annotations

from handlers.flows.approvals import ApprovalProgress, StageProgress
from handlers.views.text import mentions, safe

_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _count(n: int) -> str:
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


def _who(stage: StageProgress, missing: int) -> str:
    if stage.owners:
        return "owner" if missing == 1 else "owners"
    name = safe(stage.name, 40)
    return f"approver from {name}" if missing == 1 else f"approvers from {name}"


def stage_line(stage: StageProgress, *, waiting: bool) -> str:
    """``1 of 2: approved by <@A>; waiting for one more owner``."""
    given = len(stage.approved_by)
    head = f"{min(given, stage.required)} of {stage.required}"
    if given:
        head += f": approved by {mentions(stage.approved_by, conjunction='and')}"
    if stage.done or not waiting:
        return head
    missing = stage.required - given
    more = "one more" if missing == 1 and given else _count(missing)
    if not given and missing == 1:
        more = "one"
    return f"{head}; waiting for {more} {_who(stage, missing)}"


def progress_text(progress: ApprovalProgress) -> str:
    """Every stage's line; only one line when there is one stage."""
    if len(progress.stages) == 1:
        return stage_line(progress.stages[0], waiting=True)
    lines = []
    for i, stage in enumerate(progress.stages):
        mark = (
            ":white_check_mark:"
            if stage.done
            else (":hourglass_flowing_sand:" if i == progress.current else ":white_circle:")
        )
        label = f"Stage {i + 1} of {len(progress.stages)} ({safe(stage.name, 40)})"
        state = stage_line(stage, waiting=i == progress.current)
        if i > progress.current:
            state = f"{state}; asked once stage {i} is done"
        lines.append(f"{mark} {label}: {state}")
    return "\n".join(lines)

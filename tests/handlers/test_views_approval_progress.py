"""The approval count in words, for one stage and for several."""

from __future__ import annotations

from handlers.flows.approvals import ApprovalProgress, StageProgress
from handlers.views.approval_progress import progress_text


def test_one_stage_of_two_owners() -> None:
    stage = StageProgress(name="owners", required=2)
    assert progress_text(ApprovalProgress(stages=(stage,), current=0)) == (
        "0 of 2; waiting for two owners"
    )
    one = stage.model_copy(update={"approved_by": ("U0OLIVIA",)})
    assert progress_text(ApprovalProgress(stages=(one,), current=0)) == (
        "1 of 2: approved by <@U0OLIVIA>; waiting for one more owner"
    )
    two = stage.model_copy(update={"approved_by": ("U0OLIVIA", "U0OMAR")})
    assert progress_text(ApprovalProgress(stages=(two,), current=0)) == (
        "2 of 2: approved by <@U0OLIVIA> and <@U0OMAR>"
    )


def test_two_stages_say_which_waits_and_which_comes_next() -> None:
    owners = StageProgress(name="owners", required=1)
    security = StageProgress(name="security", required=1, owners=False)
    assert progress_text(ApprovalProgress(stages=(owners, security), current=0)).splitlines() == [
        ":hourglass_flowing_sand: Stage 1 of 2 (owners): 0 of 1; waiting for one owner",
        ":white_circle: Stage 2 of 2 (security): 0 of 1; asked once stage 1 is done",
    ]
    done = owners.model_copy(update={"approved_by": ("U0OMAR",)})
    assert progress_text(ApprovalProgress(stages=(done, security), current=1)).splitlines() == [
        ":white_check_mark: Stage 1 of 2 (owners): 1 of 1: approved by <@U0OMAR>",
        ":hourglass_flowing_sand: Stage 2 of 2 (security): 0 of 1; "
        "waiting for one approver from security",
    ]

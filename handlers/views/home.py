"""The App Home tab, built for one viewer: their access, what waits for them, and admin tools."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from handlers.flows.approvals import needs_several, request_tier
from handlers.flows.choices import LicenseChoice
from handlers.flows.labels import Labels
from handlers.policy import Policy
from handlers.views.block_budget import HOME_BLOCKS_MAX, fit_counts, fitted
from handlers.views.catalog_admin import CatalogAdminView, build_catalog_section
from handlers.views.catalog_values import CatalogKind
from handlers.views.help import COMMAND
from handlers.views.request_rows import (
    escalation_row,
    is_active_grant,
    newest_first,
    own_row,
    waiting_row,
)
from handlers.views.text import SECTION_TEXT_MAX, clip, mention, safe, slack_date
from storage.models import AccessRequest
from storage.review_models import Campaign

_SEAT_BLOCKS_MAX = 3


@dataclass(frozen=True)
class _Part:
    """A titled list on the tab: fixed blocks first, then as many rows as the budget allows."""

    head: list[Block]
    rows: list[list[Block]] = field(default_factory=list)
    empty: str = ""
    hint: str = ""

    def fixed(self) -> list[Block]:
        """The blocks shown whatever the budget: the title, or the note saying it is empty."""
        note = [SectionBlock(text=f"_{self.empty}_")] if self.empty and not self.rows else []
        return [*self.head, *note]


def _title(text: str) -> SectionBlock:
    return SectionBlock(text=f"*{text}*")


def _seat_lines(seats: Sequence[LicenseChoice]) -> list[str]:
    lines = []
    for lic in sorted(seats, key=lambda s: (s.free, s.label.casefold())):
        icon = ":warning: " if lic.free <= 0 else ""
        label = safe(lic.label or lic.name, 120)
        lines.append(f"• {icon}*{label}*: {max(lic.free, 0)} of {lic.total} seats free")
    return lines


def build_seat_blocks(seats: Sequence[LicenseChoice] | None) -> list[Block]:
    """Free seats of each license, fullest first, in at most three sections."""
    if seats is None:
        return [SectionBlock(text="_Seat counts are not available right now._")]
    if not seats:
        return [SectionBlock(text="_No licenses are offered yet._")]
    chunks: list[list[str]] = [[]]
    for line in _seat_lines(seats):
        if len("\n".join([*chunks[-1], line])) > SECTION_TEXT_MAX:
            chunks.append([])
        chunks[-1].append(line)
    shown = chunks[:_SEAT_BLOCKS_MAX]
    blocks: list[Block] = [SectionBlock(text=clip("\n".join(c), SECTION_TEXT_MAX)) for c in shown]
    hidden = sum(len(c) for c in chunks[_SEAT_BLOCKS_MAX:])
    if hidden:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"and {hidden} more")]))
    return blocks


def _decidable(
    viewer_id: str, policy: Policy, waiting: Sequence[AccessRequest]
) -> list[AccessRequest]:
    # Only owners of the request's application can decide it, and never their own; a request
    # of several stages is listed for whoever its current stage names (found by the caller).
    return [
        r
        for r in newest_first(waiting)
        if (app := policy.application(r.application))
        and (app.is_owner(viewer_id) or needs_several(app, request_tier(r)))
        and viewer_id not in (r.requester_id, r.subject_id)
    ]


def _waiting_part(
    policy: Policy,
    decidable: Sequence[AccessRequest],
    now: datetime,
    command: str,
    labels: Labels | None,
) -> _Part:
    return _Part(
        head=[DividerBlock(), HeaderBlock(text="Waiting for your decision")],
        rows=[waiting_row(r, policy, now=now, labels=labels) for r in decidable],
        empty="Nothing waits for your decision.",
        hint=f"use `{command} pending`",
    )


def _escalation_part(
    viewer_id: str, policy: Policy, escalations: Sequence[AccessRequest], command: str
) -> _Part:
    theirs = [
        r
        for r in newest_first(escalations)
        if (app := policy.application(r.application)) and app.is_admin(viewer_id)
    ]
    return _Part(
        head=[DividerBlock(), HeaderBlock(text="Needs an admin")],
        rows=[escalation_row(r, policy) for r in theirs],
        empty="Nothing needs an admin right now.",
        hint=f"use `{command} pending`",
    )


def _review_part(policy: Policy, reviews: Sequence[tuple[Campaign, int]]) -> _Part:
    rows: list[list[Block]] = []
    for campaign, waiting in reviews:
        app = policy.application(campaign.application)
        title = safe(app.title if app else campaign.application, 100)
        due = f", due {slack_date(campaign.deadline_at)}" if campaign.deadline_at else ""
        rows.append(
            [
                SectionBlock(
                    text=f"*{title}*: {waiting} to decide{due}. Keep or Revoke each line in "
                    f"the review message in your DMs (review `{campaign.id}`)."
                )
            ]
        )
    return _Part(
        head=[DividerBlock(), HeaderBlock(text="Access reviews waiting for you")],
        rows=rows,
        hint="see the review messages in your DMs",
    )


def _own_parts(
    policy: Policy,
    mine: Sequence[AccessRequest],
    now: datetime,
    command: str,
    labels: Labels | None,
) -> list[_Part]:
    ordered = newest_first(mine)
    hint = f"use `{command} status`"
    return [
        _Part(
            head=[DividerBlock(), HeaderBlock(text="Your Salesforce access")],
            rows=[
                own_row(r, policy, now=now, labels=labels) for r in ordered if is_active_grant(r)
            ],
            empty="You hold no Salesforce access through this app yet.",
            hint=hint,
        ),
        _Part(
            head=[_title("Your requests")],
            rows=[
                own_row(r, policy, now=now, labels=labels)
                for r in ordered
                if not is_active_grant(r)
            ],
            empty=f"No requests. Ask for access with `{command} request`.",
            hint=hint,
        ),
    ]


def build_home(
    viewer_id: str,
    *,
    policy: Policy,
    mine: Sequence[AccessRequest],
    waiting: Sequence[AccessRequest],
    escalations: Sequence[AccessRequest],
    seats: Sequence[LicenseChoice] | None,
    catalog_admin: CatalogAdminView | None,
    now: datetime,
    catalog_kind: str = CatalogKind.PROFILES,
    catalog_page: int = 0,
    command: str = COMMAND,
    labels: Labels | None = None,
    reviews: Sequence[tuple[Campaign, int]] = (),
) -> View:
    """The Home tab for ``viewer_id``; owner and admin sections only for those roles.

    ``catalog_kind`` and ``catalog_page`` say which page of the catalog an admin looks at;
    ``command`` is the slash command the hints name; ``labels`` name the access as people
    read it; ``reviews`` are the open access reviews with lines the viewer has to decide.
    """
    is_admin = policy.is_admin_anywhere(viewer_id)
    parts: list[_Part] = []
    decidable = _decidable(viewer_id, policy, waiting)
    if reviews:
        parts.append(_review_part(policy, reviews))
    if policy.is_owner_anywhere(viewer_id) or decidable:
        parts.append(_waiting_part(policy, decidable, now, command, labels))
    if is_admin:
        parts.append(_escalation_part(viewer_id, policy, escalations, command))
    parts.extend(_own_parts(policy, mine, now, command, labels))
    if is_admin:
        seats_head = HeaderBlock(text="Seats per license")
        parts.append(_Part(head=[DividerBlock(), seats_head, *build_seat_blocks(seats)]))
    if is_admin and catalog_admin is not None:
        # The section shows only the application the viewer administers.
        app = policy.application(catalog_admin.application)
        if app is not None and app.is_admin(viewer_id):
            catalog = build_catalog_section(catalog_admin, page=catalog_page, kind=catalog_kind)
            parts.append(_Part(head=[DividerBlock(), *catalog]))
    intro = (
        f"Hi {mention(viewer_id)}. Ask for access with `{command} request`; "
        f"`{command} help` lists everything else."
    )
    top = _Part(head=[HeaderBlock(text="Salesforce access"), SectionBlock(text=intro)])
    footer = _Part(
        head=[ContextBlock(elements=[MarkdownTextObject(text=f"Updated {slack_date(now)}")])]
    )
    return _assemble([top, *parts, footer])


def _assemble(parts: list[_Part]) -> View:
    fixed = sum(len(p.fixed()) for p in parts)
    counts = fit_counts([p.rows for p in parts], HOME_BLOCKS_MAX - fixed)
    blocks: list[Block] = []
    for part, count in zip(parts, counts, strict=True):
        blocks.extend(part.fixed())
        blocks.extend(fitted(part.rows, count, part.hint))
    view = View(type="home", blocks=blocks)
    view.validate_json()
    return view

"""Every Block Kit id the bot sets and reads back: actions, view callbacks and blocks.

Listeners register on these (``app.action(ActionId.APPROVE)``) and the views set them, so
the two can never drift apart. Values are short, stable strings: renaming one breaks the
buttons of messages already posted.
"""

from __future__ import annotations

from enum import StrEnum


class ActionId(StrEnum):
    """``action_id`` of every interactive element."""

    # request modal (inputs; the selects with dispatch_action send block_actions)
    REQUEST_APPLICATION = "request_application"
    REQUEST_LICENSE = "request_license"
    REQUEST_PROFILE = "request_profile"
    REQUEST_ROLE = "request_role"
    REQUEST_PERMISSION_SETS = "request_permission_sets"
    REQUEST_DURATION = "request_duration"
    REQUEST_REASON = "request_reason"
    REQUEST_START_AGAIN = "request_start_again"
    # approval message to owners
    APPROVE = "approve"
    DENY = "deny"
    # an owner's list of requests (a cohort): Approve and Deny per line are the ones above
    APPROVE_ALL = "approve_all"
    COHORT_DETAILS = "cohort_details"
    # modals with one text input
    DENY_REASON = "deny_reason"
    REVOKE_REASON = "revoke_reason"
    ALTERNATIVE_USERNAME = "alternative_username"
    # notices to the requester
    OPEN_LOGIN = "open_login"
    EXTEND = "extend"
    REVOKE_NOW = "revoke_now"
    # break-glass: the requester's own approval, and the owners' review of it
    BREAK_GLASS = "break_glass"
    BREAK_GLASS_REASON = "break_glass_reason"
    BREAK_GLASS_CONFIRM = "break_glass_confirm"
    BREAK_GLASS_REVOKE = "break_glass_revoke"
    # escalation to admins
    COMPLETE_REQUEST = "complete_request"
    USE_OTHER_USERNAME = "use_other_username"
    RETRY = "retry"
    RETRY_DEACTIVATION = "retry_deactivation"
    RESOLVED_IN_SALESFORCE = "resolved_in_salesforce"
    ADOPT_USER = "adopt_user"
    TRANSFER_TO = "transfer_to"
    RETRY_TRANSFER = "retry_transfer"
    TRANSFER_SUCCESSOR = "transfer_successor"
    TRANSFER_OBJECTS = "transfer_objects"
    # App Home: what can be requested (the value says which application, kind and page)
    CATALOG_KIND = "catalog_kind"
    CATALOG_PREVIOUS = "catalog_previous"
    CATALOG_NEXT = "catalog_next"
    TOGGLE_REQUESTABLE = "toggle_requestable"
    # access reviews (the value names the line, or the campaign and page)
    REVIEW_KEEP = "review_keep"
    REVIEW_REVOKE = "review_revoke"
    REVIEW_KEEP_REST = "review_keep_rest"
    REVIEW_PAGE = "review_page"


class CallbackId(StrEnum):
    """``callback_id`` of every modal."""

    LOADING = "loading"
    UNAVAILABLE = "unavailable"
    REQUEST = "request"
    SUBMITTING = "request_submitting"
    SUBMITTED = "request_submitted"
    REFUSED = "request_refused"
    DENY_REASON = "deny_reason"
    COMPLETE_REQUEST = "complete_request"
    ALTERNATIVE_USERNAME = "alternative_username"
    REVOKE = "revoke"
    BREAK_GLASS = "break_glass"
    TRANSFER = "transfer"


class BlockId(StrEnum):
    """``block_id`` of every block whose state or errors the bot reads or targets."""

    # request and complete-request modals
    APPLICATION = "application"
    LICENSE = "license"
    PROFILE = "profile"
    PROFILE_HINT = "profile_hint"
    ROLE = "role"
    PERMISSION_SETS = "permission_sets"
    DURATION = "duration"
    REASON = "reason"
    # single-input modals
    DENY_REASON = "deny_reason"
    REVOKE_REASON = "revoke_reason"
    ALTERNATIVE_USERNAME = "alternative_username"
    BREAK_GLASS_REASON = "break_glass_reason"
    TRANSFER_SUCCESSOR = "transfer_successor"
    TRANSFER_OBJECTS = "transfer_objects"
    # messages
    APPROVAL_ACTIONS = "approval_actions"
    APPROVAL_PROGRESS = "approval_progress"
    EXPIRY_ACTIONS = "expiry_actions"
    LOGIN_ACTIONS = "login_actions"
    ESCALATION_ACTIONS = "escalation_actions"
    SUMMARY_ACTIONS = "summary_actions"
    OUTCOME = "outcome"
    BREAK_GLASS_ACTIONS = "break_glass_actions"
    BREAK_GLASS_REVIEW_ACTIONS = "break_glass_review_actions"
    # App Home
    CATALOG_NAV = "catalog_nav"

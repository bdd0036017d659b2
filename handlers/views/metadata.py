"""What a modal remembers in ``private_metadata``: short ids only, never the request's state."""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Names, Slack ids and request ids are all short; a cap keeps hostile metadata cheap to parse.
_ID_MAX = 100
PRIVATE_METADATA_MAX = 3000


class ModalRef(BaseModel):
    """Which application, subject and request a modal is about."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    application: str | None = Field(default=None, max_length=_ID_MAX)
    subject_id: str | None = Field(default=None, max_length=_ID_MAX)
    request_id: str | None = Field(default=None, max_length=_ID_MAX)
    # The message a modal was opened from, when its outcome is shown under it.
    channel: str | None = Field(default=None, max_length=_ID_MAX)
    message_ts: str | None = Field(default=None, max_length=_ID_MAX)

    def dump(self) -> str:
        """Compact JSON for ``private_metadata`` (unset ids left out)."""
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def load(cls, private_metadata: object) -> ModalRef:
        """Read ``private_metadata`` back; anything unreadable gives an empty reference."""
        if not isinstance(private_metadata, str) or len(private_metadata) > PRIVATE_METADATA_MAX:
            return cls()
        try:
            data = json.loads(private_metadata)
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        fields = {
            key: value
            for key, value in data.items()
            if key in cls.model_fields and isinstance(value, str) and 0 < len(value) <= _ID_MAX
        }
        try:
            return cls.model_validate(fields)
        except ValidationError:
            return cls()

"""``history:`` (retention) and ``reports:`` (scheduled summaries) in monitor.yaml."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..config.types import PositiveDuration
from ..suppression.schedule import parse_at


class HistoryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    keep: PositiveDuration = 90 * 86400.0  # events older than this are pruned


class ReportConfig(BaseModel):
    """One scheduled summary: ``{every: "daily 07:00", notify: [tg]}``; ``"mon 07:00"`` is weekly.
    The report covers the period since the previous occurrence (a day or a week)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    every: str
    notify: list[str] = Field(min_length=1)
    worst: int = Field(5, ge=1, le=50)  # how many of the worst sources the message lists

    @field_validator("every")
    @classmethod
    def _schedule(cls, value: str) -> str:
        parse_at(value)
        return value


def report_problems(settings: object) -> list[str]:
    """Cross-checks needing the whole config: report notifiers must exist."""
    known = {str(n.get("name")) for n in getattr(settings, "notifiers", [])}
    problems = []
    for i, report in enumerate(getattr(settings, "reports", [])):
        for j, name in enumerate(report.notify):
            if name not in known:
                problems.append(f"reports[{i}].notify[{j}]: unknown notifier {name!r}")
    return problems

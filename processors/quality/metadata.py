"""Source metadata (credibility, engagement, freshness) read the same way by every quality scorer.

The training rows of the learned model have no metadata, so for it metadata is a documented prior,
not learned, and applied only when present: :func:`metadata_shift` moves probability from LQ_CLOSE
to HQ along :data:`~processors.quality.classes.META_DIRECTION`. A missing field adds 0, as does its
neutral value (credibility 0.5, engagement 0, published 1–3 years ago): missing metadata never
biases a score. The heuristic baseline reads the same fields with :func:`finite_number`,
:func:`parse_time` and :func:`age_days`.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Mapping

__all__ = ["age_days", "finite_number", "metadata_shift", "parse_time"]

# metadata prior (logit units along META_DIRECTION)
CREDIBILITY_WEIGHT = 2.0  # (c - 0.5) * 2.0: ±1.0
ENGAGEMENT_WEIGHT = 0.15  # per decade of engagement …
ENGAGEMENT_CAP = 0.6  # … up to +0.6 (a million)
FRESH_DAYS, STALE_DAYS, OLD_DAYS = 365.0, 3 * 365.0, 10 * 365.0
FRESH_SHIFT, STALE_SHIFT, OLD_SHIFT = 0.2, -0.2, -0.4


def finite_number(value: Any) -> float | None:
    """``value`` as a float when it is a finite int or float (not a bool), else None.

    >>> finite_number(3), finite_number(True), finite_number(float("nan")), finite_number("1")
    (3.0, None, None, None)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from a datetime or an ISO 8601 string (``Z`` accepted; naive means UTC)."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str) and value:
        try:
            dt = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
        except ValueError:
            return None
    else:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def age_days(published: datetime, now: datetime | None = None) -> float:
    """Days from ``published`` (aware) to ``now`` (default: the current time; naive means UTC)."""
    now = now or datetime.now(timezone.utc)
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    return (now - published).total_seconds() / 86400.0


def metadata_shift(metadata: Mapping[str, Any] | None, *, now: datetime | None = None) -> float:
    """Logit shift (towards HQ, away from LQ_CLOSE) from source metadata; 0 when absent.

    * ``source_credibility`` c ∈ [0, 1]: ``2 (c − 0.5)``, i.e. ±1 logit;
    * ``engagement`` e ≥ 0: ``min(0.6, 0.15 log10(1 + e))``;
    * ``published_at``: +0.2 within a year, 0 for 1–3 years, −0.2 after 3 years, −0.4 after 10.

    >>> metadata_shift({}), metadata_shift({"source_credibility": 0.5, "engagement": 0})
    (0.0, 0.0)
    >>> metadata_shift({"source_credibility": 1.0})
    1.0
    """
    if not metadata:
        return 0.0
    shift = 0.0
    cred = finite_number(metadata.get("source_credibility"))
    if cred is not None:
        shift += CREDIBILITY_WEIGHT * (min(1.0, max(0.0, cred)) - 0.5)
    eng = finite_number(metadata.get("engagement"))
    if eng is not None and eng >= 0:
        shift += min(ENGAGEMENT_CAP, ENGAGEMENT_WEIGHT * math.log10(1.0 + eng))
    published = parse_time(metadata.get("published_at"))
    if published is not None:
        age = age_days(published, now)
        if age <= FRESH_DAYS:
            shift += FRESH_SHIFT
        elif age > OLD_DAYS:
            shift += OLD_SHIFT
        elif age > STALE_DAYS:
            shift += STALE_SHIFT
    return shift

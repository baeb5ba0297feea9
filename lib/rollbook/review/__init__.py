"""One way to review a time window (series with context, objectives judged at every
moment, alerts, runs, flag changes), shared by the incident review and the SLO dashboard."""

from rollbook.review.window_review import WindowReview

__all__ = ["WindowReview"]

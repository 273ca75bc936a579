"""The helpers of tests/reviews (building calls with many proposals and reviewers through the operations)."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "reviews"))

from assign_helpers import opened, reviewed, reviewers, score, submitted  # noqa: E402

__all__ = ["opened", "reviewed", "reviewers", "score", "submitted"]

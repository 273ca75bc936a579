"""Ranking of a call's proposals, the funding proposal (budget line), exports, and the standstill."""

"""Reminders the worker sends by itself (drafts, reviews, sign-offs, milestones, reports, the year's end)."""

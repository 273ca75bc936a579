"""Long-running bulk actions (bulk sign-off, exports) as jobs with visible progress."""

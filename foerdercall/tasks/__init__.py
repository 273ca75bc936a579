"""The task list: everyone's start page (``lists``: what a person has to do now; ``views``: the page)."""

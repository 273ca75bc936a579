class ActionRefused(Exception):
    """A user-facing refusal: the message says why, nothing was changed."""

    def __init__(self, message: str):
        super().__init__(str(message))
        self.message = str(message)


class NeutralityRequired(Exception):
    """Someone who would see a call's proposals has not signed its declaration of neutrality yet: the page asks
    for it (web.py) instead of showing anything of the content."""

    def __init__(self, call):
        super().__init__(f"neutrality required for call {call.id}")
        self.call = call

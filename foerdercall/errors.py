class ActionRefused(Exception):
    """A user-facing refusal: the message says why, nothing was changed."""

    def __init__(self, message: str):
        super().__init__(str(message))
        self.message = str(message)

"""Parked posts: what someone typed into a long form is kept when the post is refused because the session
expired or the form's token was not accepted, and offered back (never applied by itself) after the login."""

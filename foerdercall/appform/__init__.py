"""The application form of a call as data: its definition (sections of typed questions), the check of the answers
against it, and the default form of the 2011-style call."""

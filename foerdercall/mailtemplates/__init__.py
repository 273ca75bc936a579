"""Mail templates per call and outcome (issue 4): officials write the text of an applicant's outcome mail
per call, kind, language and rule (the proposal's state, the field of action), preview it with a proposal
of the call and activate it; the outbox uses the most specific active text, else the built-in file
template (``templates/mail/<kind>.txt``)."""

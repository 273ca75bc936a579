"""Privacy (GDPR): a person downloads everything stored about them; an applicant who never submitted deletes
their account."""

"""WTForms for every page. Forms validate and return data; they never touch the database session."""

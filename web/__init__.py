"""The web pages of Retkoop adhésion, in French, for schools and OCCE staff.

A backend-for-frontend: it owns no tables and calls the services' HTTP APIs with the
user's bearer token, kept in a signed, HttpOnly session cookie."""

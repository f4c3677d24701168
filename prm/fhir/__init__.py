"""Hospital records (FHIR) in the web app: the admin page and the rest-hook endpoint."""

"""FHIR R4 adapter: the only code that knows FHIR (see DESIGN §2)."""

"""Message records for every Assay topic, defined once (pydantic), exported as JSON Schema."""

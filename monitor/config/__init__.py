"""The configuration: the pydantic model (``model``), its value types (``types``, ``durations``),
``${VAR}`` substitution (``envsubst``) and the JSON Schema (``schema``)."""

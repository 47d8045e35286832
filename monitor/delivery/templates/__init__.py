"""Message templates: the Jinja2 renderer and the shipped ``{language}.{event}.j2`` files."""

"""Form templates: schema, loading, rendering blanks."""

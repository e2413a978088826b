"""Form templates: schema, loading, rendering blanks, generating synthetic filled sheets."""

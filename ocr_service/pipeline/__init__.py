"""The pipeline stages: ingest → orient → register → extract → recognize → validate → decide."""

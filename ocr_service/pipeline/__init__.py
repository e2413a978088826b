"""The pipeline stages: ingest → identify → orient → register → dropout → recognize → evidence → decide,
chained by build.py and run over batches by batch.py."""

"""The service around the pipeline: store, jobs, API, review UI, export."""

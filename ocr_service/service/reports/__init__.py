"""Field-work reports (docs/reports.md): progress per commune, village and officer (issued, returned,
read, verified, exported), the lists officers take back to the field (revisits), inconsistent
records and likely duplicates; as JSON-able dicts, CSV, and an SVG chart. ``figures`` computes,
``facts`` reads the store, ``issued`` imports the issue list, ``output`` renders."""

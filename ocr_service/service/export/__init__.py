"""Exports of verified records: mapping files, formats (CSV, XLSX, JSON Lines, QCVN 109 XML), the
export run with its manifest, reruns, and exports run in the background. See docs/export.md."""

"""Synthetic data: made-up person records, households and places (records, households, people,
places), filled sheets in printed or handwriting-style fonts (fill, fonts) and simulated scans
(scan). An optional part of the package (``pip install 'ocr-service[synth]'``); nothing in the
pipeline or the service imports it."""

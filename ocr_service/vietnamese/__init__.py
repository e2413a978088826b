"""Vietnamese text normalization, vocabularies, validators and household checks."""

"""Pure parsers, one per PBX format: raw payload in, normalised events out, no database."""

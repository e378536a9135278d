# SqliteNsmStore sources and tests; added as they land

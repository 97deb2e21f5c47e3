"""One home for each helper the public modules share; nothing here is public API."""

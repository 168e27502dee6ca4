"""Pure import pipeline: bytes in, validated plain rows out. No ORM here."""

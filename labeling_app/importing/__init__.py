"""The importing package: reading CSV/XLSX files into responses, themes and codings, in one transaction; the demo
projects. `readers` and `parser` are the pure pipeline (bytes in, validated plain rows out, no ORM); `services`
writes the rows."""

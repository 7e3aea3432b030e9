"""Result files: the schema of docs/architecture.md, atomic writes, resume checks."""

"""Result files: the schema of DESIGN.md, atomic writes, resume checks."""

"""Knowledge packs: the format supervisors write, validation, (later) indexing and search.

No Qt; see knowledge/README.md at the project root for the pack format.
"""

"""Benchmarks that print figures (never timed assertions): `python -m bench [name ...]`.

Each module has a `main()` that prints what it measures, the conditions it ran under and its
figures; see bench/README.md.
"""

BENCHMARKS = ("planning", "delivery", "broadcast", "reflections", "startup", "digests", "digest_pace", "story", "postgres")

"""Provenance: the signed C2PA manifest every file cinegen writes carries (``manifest``),
and the signing identity it is signed with (``identity``)."""

"""Parley's knowledge library: the company pack, the record store and passage retrieval.

Modules: `knowledge.pack` (CompanyPack), `knowledge.records` (RecordStore),
`knowledge.search` (KnowledgeIndex), `knowledge.seed` (command line). Importing does no I/O.
"""

"""kgkit.ingest"""

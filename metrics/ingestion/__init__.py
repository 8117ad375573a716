"""The set-based ingestion engine: entity specs, bulk validation, upsert, rejected records.

Callers use ``metrics.ingestion.services`` (``ingest_records``, ``rejected_reprocess``).
"""

"""The set-based ingestion engine: entity specs, bulk validation, upsert, rejected records.

Callers use ``records.ingestion.services`` (``ingest_records``, ``rejected_reprocess``,
``records_delete``), ``records.ingestion.deletes`` for the deletions a source reports
(soft, audited in a batch) and ``records.ingestion.rejects`` for records refused before
validation; ``records.ingestion.bulk`` is the benchmarks' COPY loader.
"""

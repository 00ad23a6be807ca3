//! skycase-ingest (work in progress).

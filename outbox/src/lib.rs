//! Durable on-disk outbox: a segmented append-only log of records with CRCs, batched fsync and acknowledged trimming.

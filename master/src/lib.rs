//! DECNET master: embedded PostgreSQL, ingest, REST API and dashboard, certificate authority.

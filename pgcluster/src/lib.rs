//! Private PostgreSQL clusters: the embedded database of decnet-master up and throwaway clusters for tests.

//! DECNET sensor agent: enrollment, decky drivers, reconciler, collector, outbox.

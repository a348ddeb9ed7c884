//! Decky drivers: how a planned fleet becomes running deckies.

pub mod local;

//! DECNET decky process: service emulators, personas and event emission.

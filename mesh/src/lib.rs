//! DECNET event envelope, topic catalogue, host bus and the QUIC mesh that federates it.

//! Authentication: password hashing now; tokens and sessions join here later.

pub mod password;

//! Authentication: password hashing, access tokens, revocation, login throttling and
//! stream tickets.

pub mod accounts;
pub mod gate;
pub mod jwt;
pub mod password;
pub mod ratelimit;
pub mod tickets;

pub use accounts::Principal;
pub use gate::{AuthFailure, Gate};

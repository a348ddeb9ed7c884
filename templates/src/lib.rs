//! DECNET decky process: service emulators, personas and event emission.
//!
//! `decnet-decky --spec FILE.toml [--bus PATH]` runs one decky: every service
//! of its spec, concurrently, in one process. Events go to the host bus with
//! `--bus`, otherwise to stdout as RFC 5424 lines (see `decnet_event::rfc5424`).
//!
//! # Layout
//!
//! | module | owns |
//! |---|---|
//! | [`spec`] | the TOML spec format (documented there), validation, [`spec::Limits`] |
//! | [`persona`] | who the decky pretends to be; [`persona::Seed`] and its deterministic generators |
//! | [`session`] | the SANS-IO contract every emulator implements: [`session::Service`], [`session::Session`], [`session::Action`], [`session::Draft`] |
//! | [`server`] | listeners (backlog 4096), connection caps, timeouts, the stream adapter |
//! | [`emit`] | [`emit::EventSink`] and its stdout, bus and in-memory implementations |
//! | [`services`] | the registry and the emulators (`redis`, `mysql`, ...) |
//! | [`decky`] | starting and stopping a whole decky |
//! | [`shell`] | the virtual host (one model of kernel, CPU, users, processes, files) and the SANS-IO shell ssh and telnet share |
//! | [`catalog`] | service slugs and ports, archetypes, distro profiles, OS families and their network-stack profiles |
//! | [`fleet`] | fleet definitions (CLI flags, INI fleet files) parsed into validated [`spec::DeckySpec`]s |
//! | [`recording`] | asciinema v2 session transcripts: day shards, rotation, and [`recording::read_session`] |
//!
//! # Writing a service
//!
//! 1. **State machine first.** Implement [`session::Session`] for one
//!    connection: `start()` returns the banner, `feed(bytes)` returns the
//!    [`session::Action`]s to perform in order (`Send`, `Emit`, `Pause`,
//!    `Close`). No sockets, no tokio, no sleeping: a pause is an action. This
//!    is what makes the emulator fuzzable (`templates/fuzz`) and unit-testable
//!    with byte slices. `feed` must never panic, whatever the bytes.
//! 2. **Buffers are bounded by you, timeouts by the runtime.** Keep incomplete
//!    frames in the session, cap them with [`spec::Limits::max_frame_bytes`]
//!    (given to the constructor through [`services::ServiceContext`]) and report
//!    their size in [`session::Session::pending_bytes`]: while it is non-zero
//!    the runtime's frame timeout runs (slowloris resistance). Idle and total
//!    session timeouts, per-decky and per-source connection caps are enforced
//!    by [`server`] for every service alike; a protocol state may shorten the
//!    idle timeout with [`session::Session::idle_timeout`].
//! 3. **Events.** The runtime emits `connect` (plus
//!    [`session::Session::connect_fields`]) and `disconnect` (`reason`,
//!    `duration_ms`, `bytes_in`, `bytes_out`) for every connection. A session
//!    emits [`session::Draft`]s for the rest using [`session::event_types`]:
//!    `auth` with the universal credential fields ([`session::Draft::credential`]:
//!    `principal`, `secret_kind`, `secret_printable`, `secret_b64`, `outcome`),
//!    `command` for every command or request, `protocol_error` for bytes the
//!    protocol forbids. Field names are `&'static str` constants; values may
//!    be anything the attacker sent (the renderer escapes them).
//! 4. **Realism.** Values that make a machine recognisable (versions when not
//!    configured, ids, serials, uptime, keys, certificates, file trees) come
//!    from [`persona::Seed::rng`] with a domain string naming the value.
//!    Salts, nonces and challenges come from the OS RNG per connection. Error
//!    texts, disconnect behaviour and version-specific wording copy the real
//!    daemon of the claimed version; there is never a shared generic fallback.
//! 5. **Configuration.** Write `XService::from_config(&mut ServiceConfig,
//!    &ServiceContext)`, reading keys with [`spec::ConfigTable`] (unknown keys
//!    are rejected afterwards with the key named), document the keys in the
//!    module docs, then add the name to [`services::IMPLEMENTED`] and the match
//!    in [`services::build`], and remove it from [`services::PLANNED`].
//! 6. **Tests.** Unit-test the state machine with byte slices; add a test with
//!    the real client in `templates/tests/` using the harness in
//!    `templates/tests/common/mod.rs` (it starts `decnet-decky` on a fresh
//!    127.77.x.y address and parses its stdout back into events), and check that
//!    `nmap -sV` names the claimed product and version.

pub mod artifacts;
pub mod catalog;
pub mod decky;
pub mod emit;
pub mod fleet;
pub mod persona;
pub mod recording;
pub mod server;
pub mod services;
pub mod session;
pub mod shell;
pub mod spec;
pub mod tls;

//! The mesh wire protocol, sans I/O: message types and the length-prefixed CBOR framing.
//!
//! Every bidirectional stream starts with one [`Open`] frame naming its purpose:
//!
//! | opened by | `Open` | then, opener → peer | then, peer → opener |
//! |---|---|---|---|
//! | agent | `Session(Hello)` | [`ToMaster`]… | [`ToAgent::Welcome`], then [`ToAgent`]… |
//! | master | `Control(RpcRequest)` | (finish) | one [`RpcReply`] |
//! | agent | `Renew(RenewRequest)` | (finish) | one [`RenewReply`] |
//! | agent | `Durable(DurableOpen)` | [`Batch`]… | [`DurableAck`]… |
//!
//! One control call per stream, so a slow handler never blocks another call, and a stream
//! that misbehaves is reset without touching the others.

pub mod codec;
pub mod control;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

pub use codec::{FrameReader, MAX_FRAME_LEN, ProtoError, decode, encode, encode_one, next_frame};
pub use control::{
    ControlRequest, ControlResponse, DeckyStatus, HostStatus, RemoteError, WorkerAction,
    WorkerOutcome, WorkerStatus,
};

/// Version of this protocol, exchanged in [`Hello`] and [`Welcome`].
pub const PROTOCOL_VERSION: u32 = 1;

/// First frame of every bidirectional stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Open {
    /// The agent's federation session; exactly one per connection.
    Session(Hello),
    /// A control call from the master.
    Control(RpcRequest),
    /// A certificate renewal from the agent.
    Renew(RenewRequest),
    /// The agent's durable event stream.
    Durable(DurableOpen),
}

/// The agent introduces itself; its host name comes from its certificate, not from here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`] of the agent.
    pub protocol: u32,
    /// The agent's software version, shown in the master's host registry.
    pub agent_version: String,
}

/// The master's answer to [`Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// [`PROTOCOL_VERSION`] of the master.
    pub protocol: u32,
    /// The master's software version.
    pub master_version: String,
}

/// Session frames from master to agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToAgent {
    /// The session is accepted; always the first frame.
    Welcome(Welcome),
    /// Start forwarding local events matching this pattern.
    Subscribe(String),
    /// Stop forwarding events matching this pattern.
    Unsubscribe(String),
    /// A bus envelope (the bus wire encoding) published on the master to `host.{id}.…`.
    Event(Bytes),
}

/// Session frames from agent to master.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToMaster {
    /// A local bus envelope matching the master's interest.
    Event(Bytes),
}

/// A control call with the time the caller will wait for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcRequest {
    /// Milliseconds the handler has before the caller gives up.
    pub deadline_ms: u64,
    /// The call.
    pub request: ControlRequest,
}

/// The one answer to an [`RpcRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RpcReply {
    /// The handler's answer.
    Ok(ControlResponse),
    /// The handler failed or ran out of time.
    Err(RemoteError),
}

/// A CSR for a replacement certificate, sent over the live link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewRequest {
    /// PEM CSR for the same host, made with a new key.
    pub csr_pem: String,
}

/// The master's answer to a [`RenewRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RenewReply {
    /// The new certificate (PEM).
    Issued {
        /// PEM certificate.
        cert_pem: String,
    },
    /// The master refused; the reason is meant for the operator.
    Refused {
        /// Why.
        reason: String,
    },
}

/// Opens the durable stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurableOpen {
    /// Sequence number of the first record the agent will send (its first unacknowledged).
    pub from_seq: u64,
}

/// Outbox records with their sequence numbers, in increasing order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// `(sequence number, record bytes)`.
    pub records: Vec<(u64, Bytes)>,
}

/// Everything up to and including `seq` is committed on the master.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurableAck {
    /// Highest committed sequence number (cumulative).
    pub seq: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_opening_round_trips() {
        let opens = vec![
            Open::Session(Hello {
                protocol: PROTOCOL_VERSION,
                agent_version: "1.2.3".into(),
            }),
            Open::Control(RpcRequest {
                deadline_ms: 1500,
                request: ControlRequest::Worker {
                    name: "sniffer".into(),
                    action: WorkerAction::Stop,
                    requested_by: "admin".into(),
                },
            }),
            Open::Renew(RenewRequest {
                csr_pem: "-----BEGIN CERTIFICATE REQUEST-----".into(),
            }),
            Open::Durable(DurableOpen { from_seq: 42 }),
        ];
        for open in opens {
            let frame = encode_one(&open).unwrap();
            let mut buf = bytes::BytesMut::from(&frame[..]);
            let body = next_frame(&mut buf).unwrap().unwrap();
            assert_eq!(decode::<Open>(&body).unwrap(), open);
        }
    }

    #[test]
    fn batches_carry_bytes_compactly() {
        let batch = Batch {
            records: (0..100u64)
                .map(|i| (i, Bytes::from(vec![b'x'; 100])))
                .collect(),
        };
        let frame = encode_one(&batch).unwrap();
        // 100 records of 100 bytes: byte strings, not arrays of integers.
        assert!(frame.len() < 100 * 110, "{} bytes", frame.len());
        assert_eq!(decode::<Batch>(&frame[4..]).unwrap(), batch);
    }
}

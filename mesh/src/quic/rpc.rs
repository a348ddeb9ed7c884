//! Control calls: one bidirectional stream per call, typed CBOR, a deadline on both ends.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use decnet_pki::HostName;
use quinn::{Connection, SendStream};

use super::proto::{
    ControlRequest, ControlResponse, FrameReader, Open, ProtoError, RemoteError, RpcReply,
    RpcRequest, codec::write_message,
};
use super::stream_code;

/// What an agent does with the master's control calls (deploy, teardown, status, workers).
#[async_trait]
pub trait ControlHandler: Send + Sync + 'static {
    /// Handles one call; it is abandoned (dropped) when its deadline passes.
    async fn handle(&self, request: ControlRequest) -> Result<ControlResponse, RemoteError>;
}

/// Refuses every call; for agents that take no orders (and tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoControl;

#[async_trait]
impl ControlHandler for NoControl {
    async fn handle(&self, _request: ControlRequest) -> Result<ControlResponse, RemoteError> {
        Err(RemoteError::Unsupported)
    }
}

/// Why a control call produced no response.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The host is not enrolled (nothing pinned in the registry).
    #[error("unknown host {0}")]
    UnknownHost(HostName),
    /// The host is enrolled but its agent is not connected.
    #[error("host {0} is not connected")]
    NotConnected(HostName),
    /// No response within the deadline.
    #[error("no response within {0:?}")]
    Deadline(Duration),
    /// The agent answered with an error.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The connection failed during the call.
    #[error("link failed during the call: {0}")]
    Link(String),
    /// The agent answered something that is not a reply.
    #[error("protocol error: {0}")]
    Protocol(String),
}

impl From<ProtoError> for RpcError {
    fn from(e: ProtoError) -> Self {
        match e {
            ProtoError::Read(e) => RpcError::Link(e.to_string()),
            ProtoError::Write(e) => RpcError::Link(e.to_string()),
            ProtoError::Closed | ProtoError::Truncated => {
                RpcError::Link("the agent closed the call's stream".into())
            }
            other => RpcError::Protocol(other.to_string()),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Makes one call on `conn` and waits at most `deadline` for the reply.
pub(crate) async fn call(
    conn: &Connection,
    request: ControlRequest,
    deadline: Duration,
) -> Result<ControlResponse, RpcError> {
    let exchange = async {
        let (mut send, recv) = conn
            .open_bi()
            .await
            .map_err(|e| RpcError::Link(e.to_string()))?;
        let open = Open::Control(RpcRequest {
            deadline_ms: millis(deadline),
            request,
        });
        write_message(&mut send, &open).await?;
        // Already finished only if the connection is gone; the read below reports that.
        let _ = send.finish();
        let mut reader = FrameReader::new(recv);
        match reader.message::<RpcReply>().await? {
            RpcReply::Ok(response) => Ok(response),
            RpcReply::Err(RemoteError::DeadlineExceeded) => Err(RpcError::Deadline(deadline)),
            RpcReply::Err(e) => Err(RpcError::Remote(e)),
        }
    };
    match tokio::time::timeout(deadline, exchange).await {
        Ok(result) => result,
        // Dropping the streams resets them; the agent's handler times out on its own.
        Err(_) => Err(RpcError::Deadline(deadline)),
    }
}

/// Agent side: runs the handler under the call's deadline and writes the one reply.
pub(crate) async fn serve(
    handler: Arc<dyn ControlHandler>,
    mut send: SendStream,
    call: RpcRequest,
) {
    let deadline = Duration::from_millis(call.deadline_ms);
    let reply = match tokio::time::timeout(deadline, handler.handle(call.request)).await {
        Ok(Ok(response)) => RpcReply::Ok(response),
        Ok(Err(e)) => RpcReply::Err(e),
        Err(_) => {
            tracing::warn!(
                ?deadline,
                "control call abandoned: handler exceeded the deadline"
            );
            RpcReply::Err(RemoteError::DeadlineExceeded)
        }
    };
    match write_message(&mut send, &reply).await {
        Ok(()) => {
            let _ = send.finish();
        }
        // The caller gave up (deadline) or the link dropped; nobody is left to tell.
        Err(e) => {
            tracing::debug!(error = %e, "control reply not delivered");
            let _ = send.reset(stream_code::CANCELLED);
        }
    }
}

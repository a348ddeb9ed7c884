//! Control calls over real QUIC: typed requests and responses, deadlines, unknown hosts.
// Helpers outside `#[test]` functions unwrap too; clippy.toml's test exemption misses them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mesh_common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use decnet_mesh::bus::Broker;
use decnet_mesh::quic::{
    AgentLink, ControlHandler, ControlRequest, ControlResponse, DeckyStatus, HostStatus,
    RemoteError, RpcError, WorkerAction, WorkerOutcome, WorkerStatus,
};
use decnet_pki::HostName;
use mesh_common::{Deployment, agent_config, wait_up};

/// An agent's workers as a map name → running; records who asked for what.
#[derive(Default)]
struct Workers {
    running: Mutex<HashMap<String, bool>>,
    audit: Mutex<Vec<(String, WorkerAction, String)>>,
    slow: Duration,
}

#[async_trait]
impl ControlHandler for Workers {
    async fn handle(&self, request: ControlRequest) -> Result<ControlResponse, RemoteError> {
        tokio::time::sleep(self.slow).await;
        match request {
            ControlRequest::Worker {
                name,
                action,
                requested_by,
            } => {
                self.audit
                    .lock()
                    .unwrap()
                    .push((name.clone(), action, requested_by));
                let mut running = self.running.lock().unwrap();
                let outcome = match (running.get_mut(&name), action) {
                    (None, _) => WorkerOutcome::UnknownWorker,
                    (Some(r), WorkerAction::Stop) if *r => {
                        *r = false;
                        WorkerOutcome::Stopped
                    }
                    (Some(_), WorkerAction::Stop) => WorkerOutcome::AlreadyStopped,
                    (Some(r), WorkerAction::Start) if !*r => {
                        *r = true;
                        WorkerOutcome::Started
                    }
                    (Some(_), WorkerAction::Start) => WorkerOutcome::AlreadyRunning,
                };
                Ok(ControlResponse::Worker { name, outcome })
            }
            ControlRequest::Status => {
                let mut workers: Vec<WorkerStatus> = self
                    .running
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|(name, running)| WorkerStatus {
                        name: name.clone(),
                        running: *running,
                    })
                    .collect();
                workers.sort_by(|a, b| a.name.cmp(&b.name));
                Ok(ControlResponse::Status(HostStatus {
                    agent_version: "test".into(),
                    uptime_s: 1,
                    deckies: vec![DeckyStatus::new("d1", "running")],
                    workers,
                }))
            }
            ControlRequest::Deploy { spec } => Ok(ControlResponse::Deployed {
                deckies: vec![String::from_utf8_lossy(&spec).into_owned()],
            }),
            ControlRequest::Teardown { decky } if decky == "missing" => {
                Err(RemoteError::Failed(format!("no decky {decky}")))
            }
            ControlRequest::Teardown { decky } => Ok(ControlResponse::TornDown { decky }),
        }
    }
}

fn workers(slow: Duration) -> Arc<Workers> {
    let w = Workers {
        slow,
        ..Workers::default()
    };
    w.running.lock().unwrap().insert("sniffer".into(), true);
    Arc::new(w)
}

async fn setup(
    name: &str,
    handler: Arc<Workers>,
) -> (
    Deployment,
    decnet_mesh::quic::MasterMesh,
    AgentLink,
    HostName,
) {
    let d = Deployment::new();
    let master = d.master(&Broker::default());
    let id = d.enroll(name);
    let host = id.host().clone();
    let link = AgentLink::builder(
        agent_config(master.local_addr().unwrap()),
        id,
        Broker::default(),
    )
    .handler(handler)
    .start()
    .unwrap();
    wait_up(&mut link.state()).await;
    wait_up(&mut master.link_state(&host)).await;
    (d, master, link, host)
}

const DEADLINE: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_stops_and_starts_a_worker_and_gets_the_outcome() {
    let handler = workers(Duration::ZERO);
    let (_d, master, _link, host) = setup("sensor-20", handler.clone()).await;

    let stop = master
        .worker(&host, "sniffer", WorkerAction::Stop, "admin", DEADLINE)
        .await
        .unwrap();
    assert_eq!(stop, WorkerOutcome::Stopped);
    assert!(!handler.running.lock().unwrap()["sniffer"]);
    let again = master
        .worker(&host, "sniffer", WorkerAction::Stop, "admin", DEADLINE)
        .await
        .unwrap();
    assert_eq!(again, WorkerOutcome::AlreadyStopped);
    let start = master
        .worker(&host, "sniffer", WorkerAction::Start, "ops", DEADLINE)
        .await
        .unwrap();
    assert_eq!(start, WorkerOutcome::Started);
    let unknown = master
        .worker(&host, "nope", WorkerAction::Start, "ops", DEADLINE)
        .await
        .unwrap();
    assert_eq!(unknown, WorkerOutcome::UnknownWorker);
    assert_eq!(
        handler.audit.lock().unwrap()[0],
        ("sniffer".to_owned(), WorkerAction::Stop, "admin".to_owned())
    );

    // The other typed calls round-trip too, concurrently (one stream per call).
    let (status, deployed, torn, failed) = tokio::join!(
        master.call(&host, ControlRequest::Status, DEADLINE),
        master.call(
            &host,
            ControlRequest::Deploy {
                spec: Bytes::from_static(b"web-1")
            },
            DEADLINE
        ),
        master.call(
            &host,
            ControlRequest::Teardown {
                decky: "web-1".into()
            },
            DEADLINE
        ),
        master.call(
            &host,
            ControlRequest::Teardown {
                decky: "missing".into()
            },
            DEADLINE
        ),
    );
    match status.unwrap() {
        ControlResponse::Status(s) => {
            assert_eq!(
                s.workers,
                vec![WorkerStatus {
                    name: "sniffer".into(),
                    running: true
                }]
            );
            assert_eq!(s.deckies[0].id, "d1");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        deployed.unwrap(),
        ControlResponse::Deployed {
            deckies: vec!["web-1".into()]
        }
    );
    assert_eq!(
        torn.unwrap(),
        ControlResponse::TornDown {
            decky: "web-1".into()
        }
    );
    assert!(
        matches!(failed, Err(RpcError::Remote(RemoteError::Failed(m))) if m.contains("missing"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_past_its_deadline_yields_a_deadline_error() {
    let (_d, master, link, host) = setup("sensor-21", workers(Duration::from_secs(3))).await;
    let started = Instant::now();
    let result = master
        .worker(
            &host,
            "sniffer",
            WorkerAction::Stop,
            "admin",
            Duration::from_millis(300),
        )
        .await;
    let took = started.elapsed();
    assert!(
        matches!(result, Err(RpcError::Deadline(d)) if d == Duration::from_millis(300)),
        "{result:?}"
    );
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(2),
        "{took:?}"
    );
    // The link is unaffected.
    assert!(link.state().borrow().is_up());
    assert!(master.host(&host).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_disconnected_hosts_yield_typed_errors() {
    let (d, master, link, host) = setup("sensor-22", workers(Duration::ZERO)).await;
    let stranger: HostName = "sensor-99".parse().unwrap();
    let r = master
        .call(&stranger, ControlRequest::Status, DEADLINE)
        .await;
    assert!(
        matches!(&r, Err(RpcError::UnknownHost(h)) if *h == stranger),
        "{r:?}"
    );

    // Enrolled but not connected.
    let offline = d.enroll("sensor-23");
    let r = master
        .call(offline.host(), ControlRequest::Status, DEADLINE)
        .await;
    assert!(matches!(r, Err(RpcError::NotConnected(_))), "{r:?}");

    link.shutdown().await;
    let mut state = master.link_state(&host);
    mesh_common::wait_state(&mut state, Duration::from_secs(3), |s| !s.is_up()).await;
    let r = master.call(&host, ControlRequest::Status, DEADLINE).await;
    assert!(matches!(r, Err(RpcError::NotConnected(_))), "{r:?}");
}

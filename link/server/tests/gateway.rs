//! The node gateway against an HTTP stand-in of the Ixian node API.

use std::time::Duration;

use ixi_formats::number::IxiNumber;
use ixi_link_proto::{IdleReason, RejectReason};
use ixi_link_server::gateway::{Gateway, GatewayConfig, GatewayError};
use ixi_link_server::http::Credentials;
use ixi_link_server::source::{ForwardOutcome, NodeSource, NodeState};

use crate::support::{NodeBehaviour, StandIn, find_solutions};

pub fn behaviour(height: u64) -> NodeBehaviour {
    let mut prefix = vec![0x33; 178];
    prefix[..8].copy_from_slice(&height.to_le_bytes());
    NodeBehaviour {
        mining: Some((height, prefix, IxiNumber::from_whole(100_000))),
        syncing: false,
        fail: false,
        delay: Duration::ZERO,
        auth: None,
        item2_object: true,
    }
}

fn gateway(url: &str) -> Gateway {
    let mut config = GatewayConfig::new(url);
    config.timeout = Duration::from_millis(500);
    config.confirm_wait = Duration::from_millis(20);
    Gateway::new(config).unwrap()
}

#[tokio::test]
async fn challenges_idle_periods_and_errors() {
    let node = StandIn::start(behaviour(500)).await;
    let g = gateway(&node.url);
    let NodeState::Mining(c) = g.poll().await else {
        panic!("mining expected")
    };
    assert_eq!(c.block_height, 500);
    assert_eq!(c.min_difficulty, IxiNumber::from_whole(100_000));
    assert_eq!(c.prefix.len(), 178);

    // Item2 as a decimal string parses to the same value.
    node.set(|b| b.item2_object = false);
    assert!(matches!(g.poll().await, NodeState::Mining(c2) if c2 == c));

    // Not mining: between windows, or syncing.
    node.set(|b| b.mining = None);
    assert!(matches!(
        g.poll().await,
        NodeState::Idle {
            reason: IdleReason::Cooldown,
            ..
        }
    ));
    node.set(|b| b.syncing = true);
    assert!(matches!(
        g.poll().await,
        NodeState::Idle {
            reason: IdleReason::Syncing,
            ..
        }
    ));

    // HTTP 500 with an error object, a slow answer, nobody listening: unreachable, no panic.
    node.set(|b| b.fail = true);
    match g.poll().await {
        NodeState::Idle {
            reason: IdleReason::Unreachable,
            detail,
        } => assert!(
            detail.contains("Internal error") && detail.contains("500"),
            "{detail}"
        ),
        other => panic!("{other:?}"),
    }
    node.set(|b| {
        b.fail = false;
        b.delay = Duration::from_secs(2);
    });
    match g.poll().await {
        NodeState::Idle {
            reason: IdleReason::Unreachable,
            detail,
        } => assert!(detail.contains("no answer"), "{detail}"),
        other => panic!("{other:?}"),
    }
    let url = node.url.clone();
    drop(node);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(matches!(
        gateway(&url).poll().await,
        NodeState::Idle {
            reason: IdleReason::Unreachable,
            ..
        }
    ));
}

#[tokio::test]
async fn forwarded_solutions_are_confirmed_from_status() {
    let b = behaviour(77);
    let (_, prefix, min) = b.mining.clone().unwrap();
    let node = StandIn::start(b).await;
    let g = gateway(&node.url);
    let mut found = find_solutions(&prefix, &min, 2, 5);
    found.sort_by(|a, b| b.1.cmp(&a.1));
    assert!(matches!(
        g.forward(77, &found[0].0, &found[0].1).await,
        ForwardOutcome::Taken
    ));
    // The node keeps the better one: the worse is not taken.
    assert!(matches!(
        g.forward(77, &found[1].0, &found[1].1).await,
        ForwardOutcome::Rejected(RejectReason::NotTaken)
    ));
    // A block the node does not mine.
    assert!(matches!(
        g.forward(76, &found[1].0, &found[1].1).await,
        ForwardOutcome::Rejected(RejectReason::NotTaken)
    ));
    assert_eq!(node.state.lock().unwrap().submissions, 3);
    // A node error is a failure to retry, not a verdict.
    node.set(|b| b.fail = true);
    assert!(matches!(
        g.forward(77, &found[0].0, &found[0].1).await,
        ForwardOutcome::Failed(GatewayError::Node { status: 500, .. })
    ));
}

#[tokio::test]
async fn basic_auth_is_sent() {
    let mut b = behaviour(9);
    b.auth = Some("Basic dXNlcjpodW50ZXIy".into()); // user:hunter2
    let node = StandIn::start(b).await;
    assert!(matches!(
        gateway(&node.url).poll().await,
        NodeState::Idle {
            reason: IdleReason::Unreachable,
            ..
        }
    ));
    let mut config = GatewayConfig::new(&node.url);
    config.credentials = Some(Credentials {
        user: "user".into(),
        password: "hunter2".into(),
    });
    // Logs and panics print the configuration: never the password.
    let shown = format!("{config:?} {:?}", Gateway::new(config.clone()).unwrap());
    assert!(
        shown.contains("user") && !shown.contains("hunter2") && !shown.contains("dXNlcjpodW50ZXIy"),
        "{shown}"
    );
    let g = Gateway::new(config).unwrap();
    assert!(matches!(g.poll().await, NodeState::Mining(_)));
}

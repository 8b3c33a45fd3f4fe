//! Several replicas, one Keka budget: the shared window in a real Redis (its script against the server, then
//! three subgraphs against one sandbox that enforces Keka's limit), and Redis failing like any upstream.

use std::time::Duration;

use futures::future::join_all;
use keka_subgraph::store::{Store, StoreConfig};
use secrecy::SecretString;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_replica, start_sandbox};
use crate::redis_server::RedisServer;

fn store(redis: &RedisServer, prefix: &str) -> Store {
    Store::new(&StoreConfig {
        redis_url: Some(SecretString::from(redis.url())),
        key_prefix: prefix.to_owned(),
        fallback_per_window: 1,
    })
    .unwrap()
}

#[tokio::test]
async fn the_shared_window_grants_its_limit_to_all_replicas_together_then_makes_them_wait() {
    let redis = RedisServer::start().await;
    let (one, two) = (store(&redis, "t1:"), store(&redis, "t1:"));
    let minute = Duration::from_secs(60);
    let (a, b) = (one.budget("keka", 5, minute), two.budget("keka", 5, minute));
    for budget in [&a, &b, &a, &b, &a] {
        assert_eq!(budget.acquire(Duration::ZERO).await, Ok(Duration::ZERO));
    }
    for budget in [&a, &b] {
        let refused = budget.acquire(Duration::ZERO).await.unwrap_err();
        assert!(refused.wait > Duration::from_secs(55) && refused.wait <= minute, "{refused:?}");
    }
    // Another tenant's prefix is another window.
    assert_eq!(store(&redis, "t2:").budget("keka", 5, minute).acquire(Duration::ZERO).await, Ok(Duration::ZERO));

    // A 429 seen by one replica holds every replica back.
    let (c, d) = (one.budget("other", 50, minute), two.budget("other", 50, minute));
    c.pause(Duration::from_secs(30)).await;
    let held = d.acquire(Duration::ZERO).await.unwrap_err();
    assert!(held.wait > Duration::from_secs(25), "{held:?}");

    // The script survives a flush of Redis's script cache (EVALSHA fails, the client loads it again).
    let mut connection = redis.connection().await;
    let _: () = redis::cmd("SCRIPT").arg("FLUSH").query_async(&mut connection).await.unwrap();
    assert!(store(&redis, "t3:").budget("keka", 5, minute).acquire(Duration::ZERO).await.is_ok());
    // Nothing secret is kept: only the budgets' logs and the pause (a refused request reserves nothing).
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut connection).await.unwrap();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, ["t1:budget:keka", "t1:budget:other:pause", "t2:budget:keka", "t3:budget:keka"]);
}

const ORG_QUERY: &str =
    "{ employees(first: 50) { totalCount nodes { id manager { id } directReports { totalCount } } } }";

/// Three replicas against one sandbox allowing `limit` requests a minute, each told the same budget; with Redis when
/// given. Requests give up at once when their slot is further than their deadline (the next window is a minute away).
async fn fleet(
    sandbox: &keka_subgraph::sandbox::RunningSandbox,
    limit: u32,
    redis: Option<&RedisServer>,
) -> Vec<TestApp> {
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let url = redis.map(RedisServer::url);
        replicas.push(
            spawn_replica(sandbox, move |settings| {
                settings.keka.rate_limit_per_window = limit;
                settings.request_deadline = Duration::from_secs(10);
                settings.store.redis_url = url.map(SecretString::from);
            })
            .await,
        );
    }
    replicas
}

async fn all_query(replicas: &[TestApp], query: &str) -> Vec<Value> {
    join_all(replicas.iter().map(|replica| replica.query(query))).await
}

/// Cold and together, three replicas on one API key spend one window, never more: Keka (the sandbox, counting per
/// key) answers no 429. The same fleet without Redis overspends, which is what the shared window is for.
#[tokio::test]
async fn a_fleet_sharing_redis_gets_no_429_where_replicas_alone_overspend() {
    // 1,000 people: each replica's walk of the org is 5 pages, so three replicas alone need more than the limit.
    let limit = 8;
    let redis = RedisServer::start().await;
    let sandbox = start_sandbox(1000, |config| config.rate_limit_per_minute = limit).await;
    let shared = fleet(&sandbox, limit, Some(&redis)).await;
    let answers = all_query(&shared, ORG_QUERY).await;
    let stats = sandbox.stats();
    assert_eq!(stats.rate_limited, 0, "{stats:?}\n{answers:?}");
    // The fleet spent exactly the window, every grant logged in Redis.
    assert_eq!(stats.total - stats.token_requests, u64::from(limit), "{stats:?}");
    let mut connection = redis.connection().await;
    let logs: Vec<String> = redis::cmd("KEYS").arg("*budget:keka").query_async(&mut connection).await.unwrap();
    let granted: u64 = redis::cmd("ZCARD").arg(&logs[0]).query_async(&mut connection).await.unwrap();
    assert_eq!(granted, u64::from(limit));
    for replica in shared {
        replica.stop().await;
    }
    sandbox.shutdown().await;

    let sandbox = start_sandbox(1000, |config| config.rate_limit_per_minute = limit).await;
    let alone = fleet(&sandbox, limit, None).await;
    let _ = all_query(&alone, ORG_QUERY).await;
    let stats = sandbox.stats();
    assert!(stats.rate_limited > 0, "without Redis each replica spends the whole budget: {stats:?}");
    for replica in alone {
        replica.stop().await;
    }
    sandbox.shutdown().await;
}

/// Redis dies: replicas answer (within their deadline) from their own state and a local share of the budget, say so
/// in `/readyz` and `/metrics`, and go back to the shared window when it returns, empty.
#[tokio::test]
async fn when_redis_dies_replicas_still_answer_and_say_so_then_reattach() {
    let mut redis = RedisServer::start().await;
    let sandbox = start_sandbox(60, |_| {}).await;
    let replicas = fleet(&sandbox, 50, Some(&redis)).await;
    let readyz = |replica: &TestApp| {
        let url = format!("http://{}/readyz", replica.address);
        let http = replica.http.clone();
        async move { http.get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert!(readyz(&replicas[0]).await.contains("Redis attached"));

    redis.kill().await;
    for answer in all_query(&replicas, ORG_QUERY).await {
        assert_eq!(answer["data"]["employees"]["totalCount"], 60, "{answer}");
    }
    assert!(readyz(&replicas[1]).await.contains("Redis UNREACHABLE"));
    let metrics = replicas[1].http.get(format!("http://{}/metrics", replicas[1].address)).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(metrics.contains("keka_subgraph_store_state{state=\"detached\"} 1"), "{metrics}");

    redis.restart().await;
    // Reattaching waits out the breaker's moment (2 s): bounded, checked by asking.
    let mut attached = false;
    for _ in 0..100 {
        if readyz(&replicas[2]).await.contains("Redis attached") {
            attached = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(attached, "the replica reattaches to the restarted Redis");
    // Back on the shared window: the next Keka call is granted by the new, empty Redis.
    let answer = replicas[2].query("{ jobs { id } }").await;
    assert!(answer["data"]["jobs"].is_array(), "{answer}");
    let keys: Vec<String> =
        redis::cmd("KEYS").arg("*budget:keka").query_async(&mut redis.connection().await).await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    for replica in replicas {
        replica.stop().await;
    }
    sandbox.shutdown().await;
}

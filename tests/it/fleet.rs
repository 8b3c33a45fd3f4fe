//! Several replicas, one Keka budget: the shared window in a real Redis (its script against the server, then
//! three subgraphs against one sandbox that enforces Keka's limit), and Redis failing like any upstream.

use std::time::Duration;

use futures::future::join_all;
use keka_subgraph::store::{Store, StoreConfig, StoreState};
use keka_subgraph::upstream::Priority;
use secrecy::SecretString;
use serde_json::Value;

use crate::helpers::{KillableReplica, TEST_CALL_TIMEOUT, TestApp, spawn_replica, start_sandbox};
use crate::redis_server::RedisServer;

fn store(redis: &RedisServer, prefix: &str) -> Store {
    Store::new(&StoreConfig {
        redis_url: Some(SecretString::from(redis.url())),
        key_prefix: prefix.to_owned(),
        fallback_per_window: 1,
        call_timeout: TEST_CALL_TIMEOUT,
        tls_ca: None,
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
        assert_eq!(budget.acquire(Duration::ZERO, Priority::Continuing).await, Ok(Duration::ZERO));
    }
    for budget in [&a, &b] {
        let refused = budget.acquire(Duration::ZERO, Priority::Continuing).await.unwrap_err();
        assert!(refused.wait > Duration::from_secs(55) && refused.wait <= minute, "{refused:?}");
    }
    // Another tenant's prefix is another window.
    assert_eq!(
        store(&redis, "t2:").budget("keka", 5, minute).acquire(Duration::ZERO, Priority::Continuing).await,
        Ok(Duration::ZERO)
    );

    // A 429 seen by one replica holds every replica back.
    let (c, d) = (one.budget("other", 50, minute), two.budget("other", 50, minute));
    c.pause(Duration::from_secs(30)).await;
    let held = d.acquire(Duration::ZERO, Priority::Continuing).await.unwrap_err();
    assert!(held.wait > Duration::from_secs(25), "{held:?}");

    // The script survives a flush of Redis's script cache (EVALSHA fails, the client loads it again).
    let mut connection = redis.connection().await;
    let _: () = redis::cmd("SCRIPT").arg("FLUSH").query_async(&mut connection).await.unwrap();
    assert!(store(&redis, "t3:").budget("keka", 5, minute).acquire(Duration::ZERO, Priority::Continuing).await.is_ok());
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
async fn fleet(sandbox: &keka_sandbox::RunningSandbox, limit: u32, redis: Option<&RedisServer>) -> Vec<TestApp> {
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

/// Keka requests (token requests aside) the sandbox has answered so far.
fn api_requests(sandbox: &keka_sandbox::RunningSandbox) -> u64 {
    let stats = sandbox.stats();
    stats.total - stats.token_requests
}

/// What one replica alone, cold, costs Keka for `query` over `employees` people.
async fn cost_alone(employees: usize, query: &str) -> u64 {
    let sandbox = start_sandbox(employees, |_| {}).await;
    let alone = spawn_replica(&sandbox, |_| {}).await;
    let answer = alone.query(query).await;
    assert!(answer["errors"].is_null(), "{answer}");
    alone.stop().await;
    let cost = api_requests(&sandbox);
    sandbox.shutdown().await;
    cost
}

/// A fleet costs Keka what one process costs: cold and together, three replicas pay one walk between them (the
/// answers one fetched, the others read from Redis, waiting on its lease); warm they pay nothing, and a replica
/// started later answers the org chart with nothing either.
#[tokio::test]
async fn a_fleet_costs_keka_what_one_replica_costs_cold_warm_and_for_a_late_joiner() {
    let alone = cost_alone(1000, ORG_QUERY).await;
    let redis = RedisServer::start().await;
    let sandbox = start_sandbox(1000, |config| config.rate_limit_per_minute = 50).await;
    let replicas = fleet(&sandbox, 50, Some(&redis)).await;
    let answers = all_query(&replicas, ORG_QUERY).await;
    for answer in &answers {
        assert!(answer["errors"].is_null(), "{answer}");
        assert_eq!(answer, &answers[0]);
    }
    assert_eq!(api_requests(&sandbox), alone, "cold, the fleet pays what one replica pays: {:?}", sandbox.stats());
    assert_eq!(sandbox.stats().rate_limited, 0);

    let warm = all_query(&replicas, ORG_QUERY).await;
    assert_eq!(warm, answers);
    assert_eq!(api_requests(&sandbox), alone, "warm: nothing");

    let url = redis.url();
    let late = spawn_replica(&sandbox, move |settings| settings.store.redis_url = Some(SecretString::from(url))).await;
    assert_eq!(late.query(ORG_QUERY).await, answers[0]);
    assert_eq!(api_requests(&sandbox), alone, "a replica started later reads what the fleet fetched");

    // What Redis holds: the budget's log, the generation and Keka's answers under hashed names; no lease outlives
    // its fetch.
    let mut connection = redis.connection().await;
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut connection).await.unwrap();
    let known =
        |key: &String| key.ends_with(":budget:keka") || key.ends_with(":generation") || key.contains(":answer:");
    assert!(keys.iter().all(known), "{keys:?}");
    assert!(!keys.iter().any(|key| key.ends_with(":lease")), "{keys:?}");
    for replica in replicas.into_iter().chain([late]) {
        replica.stop().await;
    }
    sandbox.shutdown().await;
}

/// Cold and together under a budget that fits one replica's walk but not three, replicas sharing Redis get no 429;
/// the same replicas alone each spend the whole budget, and Keka (the sandbox, counting per API key) refuses them.
#[tokio::test]
async fn a_fleet_sharing_redis_gets_no_429_where_replicas_alone_overspend() {
    let alone = cost_alone(1000, ORG_QUERY).await;
    let limit = u32::try_from(alone).unwrap() + 1;
    let redis = RedisServer::start().await;
    let sandbox = start_sandbox(1000, |config| config.rate_limit_per_minute = limit).await;
    let shared = fleet(&sandbox, limit, Some(&redis)).await;
    let answers = all_query(&shared, ORG_QUERY).await;
    let stats = sandbox.stats();
    assert_eq!(stats.rate_limited, 0, "{stats:?}\n{answers:?}");
    assert!(answers.iter().all(|answer| answer["errors"].is_null()), "{answers:?}");
    // Every grant is logged in Redis.
    let mut connection = redis.connection().await;
    let logs: Vec<String> = redis::cmd("KEYS").arg("*budget:keka").query_async(&mut connection).await.unwrap();
    let granted: u64 = redis::cmd("ZCARD").arg(&logs[0]).query_async(&mut connection).await.unwrap();
    assert_eq!(granted, api_requests(&sandbox));
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

/// Polls `done` (bounded: 30 s) until it holds.
async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..1500 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}: not within 30 s");
}

/// A replica killed mid-walk loses its leases; another replica finishes the walk, reading the pages the dead one
/// fetched instead of asking Keka for them again.
#[tokio::test]
async fn a_replica_killed_mid_walk_leaves_the_walk_to_another_which_reuses_its_pages() {
    // 2,000 people: a walk of ten pages, the first alone, then four at a time.
    let alone = cost_alone(2000, ORG_QUERY).await;
    let redis = RedisServer::start().await;
    // Slow answers (a second each), so that the walk is caught half way.
    let sandbox = start_sandbox(2000, |config| config.faults.latency = Duration::from_secs(1)).await;
    let url = redis.url();
    let doomed = KillableReplica::spawn(&sandbox, {
        let url = url.clone();
        move |settings| settings.store.redis_url = Some(SecretString::from(url))
    })
    .await;
    let http = reqwest::Client::new();
    let asked = tokio::spawn(
        http.post(format!("http://{}/graphql", doomed.address)).json(&serde_json::json!({ "query": ORG_QUERY })).send(),
    );
    // A page is asked for only when one before it is answered (and stored): the sixth request means the first page
    // and one of the next four are in Redis.
    eventually("the doomed replica's walk is under way", async || api_requests(&sandbox) >= 6).await;
    doomed.kill();
    assert!(asked.await.unwrap().is_err(), "the killed replica never answered");
    let spent_by_the_dead = api_requests(&sandbox);
    assert!(spent_by_the_dead < alone, "killed mid-walk, not after it: {spent_by_the_dead} of {alone}");

    let survivor =
        spawn_replica(&sandbox, move |settings| settings.store.redis_url = Some(SecretString::from(url))).await;
    let answer = survivor.query(ORG_QUERY).await;
    assert!(answer["errors"].is_null(), "{answer}");
    assert_eq!(answer["data"]["employees"]["totalCount"], 2000);
    let spent_by_the_survivor = api_requests(&sandbox) - spent_by_the_dead;
    assert!(
        spent_by_the_survivor < alone,
        "the survivor reads what the dead replica stored: it spent {spent_by_the_survivor}, a walk costs {alone}"
    );
    survivor.stop().await;
    sandbox.shutdown().await;
}

/// Redis restarted empty: every replica notices (the fleet's generation is new), drops its in-process copies,
/// and the fleet pays one walk between them, not one each.
#[tokio::test]
async fn redis_restarted_empty_costs_the_fleet_one_walk() {
    let alone = cost_alone(1000, ORG_QUERY).await;
    let mut redis = RedisServer::start().await;
    let sandbox = start_sandbox(1000, |_| {}).await;
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let url = redis.url();
        replicas.push(
            spawn_replica(&sandbox, move |settings| {
                settings.store.redis_url = Some(SecretString::from(url));
                // An expired snapshot is rebuilt within the request (not in the background), so that the count
                // below is complete when the answers are.
                settings.snapshot_grace = Duration::ZERO;
            })
            .await,
        );
    }
    let before = all_query(&replicas, ORG_QUERY).await;
    assert_eq!(api_requests(&sandbox), alone);
    // Every replica has seen the first generation before Redis goes.
    for replica in &replicas {
        eventually("the replica read the generation", async || {
            let mut connection = redis.connection().await;
            let generation: Option<String> = redis::cmd("GET")
                .arg(format!("{}generation", prefix(replica)))
                .query_async(&mut connection)
                .await
                .unwrap();
            generation.is_some()
        })
        .await;
    }

    redis.kill().await;
    redis.restart().await;
    for replica in &replicas {
        eventually("the replica noticed the new generation", async || {
            metrics(replica).await.contains("keka_subgraph_store_generation_changes_total 1")
        })
        .await;
    }
    sandbox.reset_stats();
    let after = all_query(&replicas, ORG_QUERY).await;
    assert_eq!(after, before);
    assert_eq!(api_requests(&sandbox), alone, "one walk for the fleet: {:?}", sandbox.stats());
    for replica in replicas {
        replica.stop().await;
    }
    sandbox.shutdown().await;
}

async fn metrics(replica: &TestApp) -> String {
    let url = format!("http://{}/metrics", replica.address);
    replica.http.get(url).send().await.unwrap().text().await.unwrap()
}

/// The replicas' key prefix (the default: the sandbox's host and port).
fn prefix(replica: &TestApp) -> String {
    format!("keka-subgraph:v1:{}:", replica.sandbox_address)
}

/// Redis behind a password and an ACL user limited to the subgraph's keys (as the README advises), and Redis over
/// TLS: the fleet shares its answers through both, and a wrong password leaves replicas working on their own.
#[tokio::test]
async fn replicas_share_through_an_acl_user_limited_to_their_prefix_and_over_tls() {
    let acl = vec![
        "--user".to_owned(),
        "default".to_owned(),
        "off".to_owned(),
        "--user".to_owned(),
        "keka".to_owned(),
        "on".to_owned(),
        ">s3cret-Pw".to_owned(),
        "~keka-subgraph:*".to_owned(),
        "+@all".to_owned(),
        "-@dangerous".to_owned(),
    ];
    let secured = RedisServer::start_with(acl).await;
    let tls = RedisServer::start_tls().await;
    for (url, tls_ca) in [(secured.url_as("keka", "s3cret-Pw"), None), (tls.url(), tls.tls_ca())] {
        let sandbox = start_sandbox(60, |_| {}).await;
        let mut replicas = Vec::new();
        for _ in 0..2 {
            let (url, tls_ca) = (url.clone(), tls_ca.clone());
            replicas.push(
                spawn_replica(&sandbox, move |settings| {
                    settings.store.redis_url = Some(SecretString::from(url));
                    settings.store.tls_ca = tls_ca;
                })
                .await,
            );
        }
        let first = replicas[0].query(ORG_QUERY).await;
        assert!(first["errors"].is_null(), "{first}");
        let spent = api_requests(&sandbox);
        assert_eq!(replicas[1].query(ORG_QUERY).await, first);
        assert_eq!(api_requests(&sandbox), spent, "the second replica read the first one's answers ({url})");
        assert!(metrics(&replicas[1]).await.contains("keka_subgraph_store_state{state=\"attached\"} 1"));
        for replica in replicas {
            replica.stop().await;
        }
        sandbox.shutdown().await;
    }

    // A wrong password: Redis refuses, the replica answers on its own and says so.
    let sandbox = start_sandbox(60, |_| {}).await;
    let wrong = secured.url_as("keka", "wrong-password");
    let alone =
        spawn_replica(&sandbox, move |settings| settings.store.redis_url = Some(SecretString::from(wrong))).await;
    let answer = alone.query(ORG_QUERY).await;
    assert!(answer["errors"].is_null(), "{answer}");
    assert!(metrics(&alone).await.contains("keka_subgraph_store_state{state=\"detached\"} 1"));
    alone.stop().await;
    sandbox.shutdown().await;
}

/// Redis back, empty, after an outage: before taking more, a replica puts its sends of the last window (those Redis
/// granted before it died, and those of its local share meanwhile) back into the log, so that the fleet does not
/// spend a whole window Keka has partly seen already.
#[tokio::test]
async fn after_an_outage_a_replica_puts_its_recent_sends_back_into_the_log() {
    let mut redis = RedisServer::start().await;
    let store = store(&redis, "t:");
    let budget = store.budget("keka", 5, Duration::from_secs(60));
    for _ in 0..3 {
        assert_eq!(budget.acquire(Duration::ZERO, Priority::Continuing).await, Ok(Duration::ZERO));
    }
    redis.kill().await;
    // The local share (one a minute here) while Redis is gone.
    assert_eq!(budget.acquire(Duration::ZERO, Priority::Continuing).await, Ok(Duration::ZERO));
    assert!(budget.acquire(Duration::ZERO, Priority::Continuing).await.is_err());

    redis.restart().await;
    eventually("the store reattaches", async || store.check().await == StoreState::Attached).await;
    assert_eq!(budget.acquire(Duration::ZERO, Priority::Continuing).await, Ok(Duration::ZERO));
    let granted: u64 =
        redis::cmd("ZCARD").arg("t:budget:keka").query_async(&mut redis.connection().await).await.unwrap();
    assert_eq!(granted, 5, "three shared sends and one local, put back, and the new one");
    assert!(budget.acquire(Duration::ZERO, Priority::Continuing).await.is_err(), "the window is full");
}

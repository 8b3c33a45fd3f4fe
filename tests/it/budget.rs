//! How one process spends a small Keka budget on a burst of cold queries: whole queries, not a slot each.

use std::time::Duration;

use futures::future::join_all;
use keka_subgraph::keka::{CacheConfig, CachedKeka, EmployeeFilter, KekaClient, PageRequest};
use serde_json::Value;

use crate::helpers::{sandbox_config, spawn_app_on, start_sandbox};

/// The ids of a sandbox's first `count` people (sandboxes of one seed and size hold the same people).
async fn first_ids(employees: usize, count: u32) -> Vec<String> {
    let sandbox = start_sandbox(employees, |_| {}).await;
    let client = KekaClient::new(sandbox_config(&sandbox)).unwrap();
    let page = client.employees_page(&EmployeeFilter::default(), PageRequest::new(1, count)).await.unwrap();
    sandbox.shutdown().await;
    page.items.into_iter().map(|employee| employee.id).collect()
}

fn codes(answer: &Value) -> Vec<&str> {
    answer["errors"].as_array().into_iter().flatten().filter_map(|error| error["extensions"]["code"].as_str()).collect()
}

/// Fourteen different cold queries of two Keka calls each (the person, then their week of attendance) against a
/// budget of ten a minute. Each first call leaves a slot for every query already under way, and calls of a query
/// under way go first: five queries start and all five finish, the other nine are refused at once with a code,
/// and no slot is spent on a query that cannot finish. (Before: ten queries started, none finished.)
#[tokio::test]
async fn a_cold_burst_under_a_small_budget_completes_whole_queries() {
    let limit = 10;
    let ids = first_ids(60, 14).await;
    let app = spawn_app_on(
        60,
        |sandbox| sandbox.rate_limit_per_minute = limit,
        |settings| {
            settings.keka.rate_limit_per_window = limit;
            settings.request_deadline = Duration::from_secs(10);
        },
    )
    .await;
    let queries: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                r#"{{ employee(id: "{id}") {{ id attendance(from: "2026-11-16", to: "2026-11-20") {{ date }} }} }}"#
            )
        })
        .collect();
    let answers = join_all(queries.iter().map(|query| app.query(query))).await;
    let complete = answers.iter().filter(|answer| answer["errors"].is_null()).count();
    let refused = answers
        .iter()
        .filter(|answer| !codes(answer).is_empty() && codes(answer).iter().all(|code| *code == "UPSTREAM_RATE_LIMITED"))
        .count();
    let stats = app.keka_stats().await;
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
    assert!(stats.total - stats.token_requests <= u64::from(limit), "{stats:?}");
    assert_eq!((complete, refused), (5, 9), "{answers:#?}");
    app.stop().await;
}

/// Concurrent look-ups by id share Keka's calls: an id already on its way for one request is not asked for again by
/// another, whatever else each asks for.
#[tokio::test]
async fn concurrent_lookups_by_id_share_the_fetch_of_ids_already_on_their_way() {
    let ids = first_ids(60, 3).await;
    let sandbox = start_sandbox(60, |_| {}).await;
    let keka = CachedKeka::new(KekaClient::new(sandbox_config(&sandbox)).unwrap(), CacheConfig::default());
    let (first, second) = tokio::join!(keka.employees_by_ids(&ids[..2]), keka.employees_by_ids(&ids[1..2]));
    assert_eq!(first.unwrap().len(), 2);
    assert_eq!(second.unwrap()[&ids[1]].id, ids[1]);
    let employee_requests = |stats: &keka_sandbox::SandboxStats| -> u64 {
        stats.by_route.iter().filter(|route| route.route == "/api/v1/hris/employees").map(|route| route.count).sum()
    };
    assert_eq!(employee_requests(&sandbox.stats()), 1, "{:?}", sandbox.stats());
    // Unknown ids and ids already cached cost nothing more; only the new one is asked for.
    let third = keka.employees_by_ids(&[ids[0].clone(), ids[2].clone(), "no-such-person".to_owned()]).await.unwrap();
    assert_eq!(third.len(), 2);
    assert_eq!(employee_requests(&sandbox.stats()), 2, "{:?}", sandbox.stats());
    assert!(keka.employees_by_ids(&["no-such-person".to_owned()]).await.unwrap().is_empty());
    assert_eq!(employee_requests(&sandbox.stats()), 2, "an unknown id is not asked again within the TTL");
    sandbox.shutdown().await;
}

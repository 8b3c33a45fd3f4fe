//! Custom fields: the sandbox's tenant defines six (one of each kind of value), and every person carries theirs.

use crate::helpers::{codes, spawn_app};

const EMPLOYEES_ROUTE: &str = "/api/v1/hris/employees";

#[tokio::test]
async fn custom_fields_come_with_the_person_typed_by_kind_and_found_by_title_in_any_case() {
    let app = spawn_app(60).await;

    let answer = app
        .query(
            r#"{ employees(first: 60) { nodes { id
                 customFields { id title type value typedValue }
                 size: customField(title: "t-shirt SIZE") { title value }
                 desk: customField(title: " Desk Number ") { typedValue }
                 missing: customField(title: "Shoe Size") { value } } } }"#,
        )
        .await;

    assert!(answer.get("errors").is_none(), "{answer}");
    let people = answer["data"]["employees"]["nodes"].as_array().unwrap();
    assert_eq!(people.len(), 60);
    let titles: std::collections::BTreeSet<&str> = people
        .iter()
        .flat_map(|person| person["customFields"].as_array().unwrap())
        .map(|field| field["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles.into_iter().collect::<Vec<_>>(),
        ["Badge Issued On", "Certifications", "Desk Number", "Laptop Asset Tag", "Remote Eligible", "T-Shirt Size"]
    );
    for person in people {
        assert_eq!(person["size"]["title"], "T-Shirt Size", "{person}");
        assert!(["S", "M", "L", "XL", "XXL"].contains(&person["size"]["value"].as_str().unwrap()), "{person}");
        assert!(person["missing"].is_null());
        if !person["desk"].is_null() {
            assert!(person["desk"]["typedValue"].is_u64(), "a number field reads as a number: {person}");
        }
        for field in person["customFields"].as_array().unwrap() {
            let typed = &field["typedValue"];
            match field["type"].as_str().unwrap() {
                "Checkbox" => assert!(typed.is_boolean(), "{field}"),
                "MultiSelect" => assert!(typed.is_array(), "{field}"),
                "Number" => assert!(typed.is_number(), "{field}"),
                _ => assert_eq!(typed, &field["value"], "{field}"),
            }
            assert!(field["id"].is_string(), "{field}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn the_custom_field_filter_costs_the_org_walk_cold_and_nothing_warm() {
    let app = spawn_app(1_000).await;
    let query = r#"{ employees(first: 100, filter: { customField: { title: "certifications", value: "pmp" } }) {
                       totalCount nodes { id } } }"#;
    let cold = app.query(query).await;
    let cold_stats = app.keka_stats().await;
    assert!(cold.get("errors").is_none(), "{cold}");
    // The org snapshot's walk, which every snapshot-backed view shares: 1,000 people at 200 per page.
    assert_eq!(cold_stats.count(EMPLOYEES_ROUTE), 5, "{cold_stats:?}");
    assert_eq!(cold_stats.api_requests(), 5, "{cold_stats:?}");
    // Who holds the certification, counted from everyone's own fields.
    let mut expected = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let cursor = after.as_ref().map_or(String::new(), |cursor| format!(r#", after: "{cursor}""#));
        let page = app
            .query(&format!(
                r#"{{ employees(first: 100{cursor}) {{ pageInfo {{ hasNextPage endCursor }}
                     nodes {{ id certifications: customField(title: "Certifications") {{ typedValue }} }} }} }}"#
            ))
            .await;
        assert!(page.get("errors").is_none(), "{page}");
        for person in page["data"]["employees"]["nodes"].as_array().unwrap() {
            let holds = person["certifications"]["typedValue"]
                .as_array()
                .is_some_and(|items| items.iter().any(|item| item == "PMP"));
            if holds {
                expected.push(person["id"].as_str().unwrap().to_owned());
            }
        }
        let info = &page["data"]["employees"]["pageInfo"];
        if info["hasNextPage"] != true {
            break;
        }
        after = Some(info["endCursor"].as_str().unwrap().to_owned());
        assert!(expected.len() <= 1_000, "bounded");
    }
    assert!(!expected.is_empty(), "the sandbox gives some people the PMP certification");
    app.reset_keka_stats().await;

    let filtered = app.query(query).await;
    let stats = app.keka_stats().await;

    assert!(filtered.get("errors").is_none(), "{filtered}");
    let found: Vec<String> = filtered["data"]["employees"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|person| person["id"].as_str().unwrap().to_owned())
        .collect();
    let first_page = &expected[..expected.len().min(100)];
    assert_eq!(found, first_page, "the filter finds exactly the people whose field holds the value, in Keka's order");
    assert_eq!(filtered["data"]["employees"]["totalCount"], expected.len());
    assert_eq!(filtered, cold);
    assert_eq!(stats.count(EMPLOYEES_ROUTE), 0, "the snapshot the listing built answers it: {stats:?}");
    assert_eq!(stats.api_requests(), 0, "{stats:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_custom_field_filter_without_a_title_or_value_is_bad_input() {
    let app = spawn_app(20).await;

    let answer =
        app.query(r#"{ employees(filter: { customField: { title: " ", value: "XL" } }) { totalCount } }"#).await;

    assert_eq!(codes(&answer), ["BAD_USER_INPUT"], "{answer}");
    assert_eq!(app.keka_stats().await.api_requests(), 0);
    app.stop().await;
}

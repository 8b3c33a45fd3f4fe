//! Properties of what Keeper sends and what is built from it: any body decodes as a SCIM resource or list or fails
//! with the layer's error (never a panic), any error body is read, any sequence of list pages is walked to a
//! result or an error, and the [`Directory`] over any users and teams (missing, repeated or padded ids, odd
//! addresses, references to resources outside the walk) keeps its indexes consistent.

use std::collections::HashSet;
use std::sync::LazyLock;

use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::client::decode;
use super::error::{ErrorBody, KeeperError};
use super::models::{ListResponse, ScimEmail, ScimGroup, ScimName, ScimRef, ScimUser};
use super::paging::{PageRequest, walk};
use super::{Directory, normalise_email};
use keka_test_support::json_strategies::{self, to_body};

fn user_json() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "priya.nair@acme.example", "displayName": "Priya Nair",
        "name": {"givenName": "Priya", "familyName": "Nair"}, "id": "914901048493161",
        "emails": [{"primary": true, "value": "priya.nair@acme.example", "type": "work"}, {"value": "pn@acme.example"}],
        "groups": [{"value": "GDjSrBE2ICe0XyRExVOBNQ", "display": "Ops", "$ref": "x"}, "team-2", 42],
        "active": true, "externalId": "idp-1", "meta": {"resourceType": "User", "lastModified": "2025-01-01T00:00:00Z"}
    })
}

fn group_json() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "GDjSrBE2ICe0XyRExVOBNQ",
        "displayName": "Ops", "externalId": "idp-7", "members": [{"value": "914901048493161"}, {"value": 42}, "7"]
    })
}

fn list_json(resources: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 12, "startIndex": "1", "itemsPerPage": 2, "Resources": resources
    })
}

static BASES: LazyLock<Vec<Value>> = LazyLock::new(|| {
    vec![
        user_json(),
        group_json(),
        list_json(vec![user_json(), user_json()]),
        list_json(vec![group_json(), group_json()]),
        json!({"totalResults": 0, "resources": null}),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400",
               "scimType": "invalidFilter", "detail": "Unsupported filter"}),
        json!({"status": 409, "detail": "taken", "extra": {"nested": true}}),
        json!({"error": "invalid_token", "message": "Token expired"}),
    ]
});

static KEYS: LazyLock<Vec<String>> = LazyLock::new(|| json_strategies::keys_of(&Value::Array(BASES.clone())));

const ENDPOINT: &str = "/property";

fn decoded<T: DeserializeOwned>(body: &[u8]) -> Result<Option<T>, TestCaseError> {
    match decode::<T>(ENDPOINT, body) {
        Ok(value) => Ok(Some(value)),
        Err(error @ KeeperError::Decode { .. }) => {
            prop_assert!(error.is_unavailable());
            let _ = error.to_string();
            Ok(None)
        }
        Err(other) => Err(TestCaseError::fail(format!("decoding failed with {other:?}"))),
    }
}

/// Decodes `body` as everything the client decodes, and reads it as an error body.
fn decode_as_everything(body: &[u8]) -> Result<(), TestCaseError> {
    decoded::<ListResponse<ScimUser>>(body)?;
    decoded::<ListResponse<ScimGroup>>(body)?;
    decoded::<ScimUser>(body)?;
    let error = ErrorBody::parse(body);
    if let Some(detail) = &error.detail {
        // Trimmed, non-empty, at most 300 characters and an ellipsis.
        prop_assert!(!detail.is_empty() && detail.chars().count() <= 301, "{:?}", detail);
    }
    let _ = KeeperError::Scim { status: 400, scim_type: error.scim_type, detail: error.detail }.to_string();
    Ok(())
}

#[test]
fn every_base_decodes_as_its_own_type() {
    let body = |index: usize| to_body(&BASES[index]);
    assert_eq!(decode::<ScimUser>(ENDPOINT, &body(0)).unwrap().groups.len(), 3);
    decode::<ScimGroup>(ENDPOINT, &body(1)).unwrap();
    assert_eq!(decode::<ListResponse<ScimUser>>(ENDPOINT, &body(2)).unwrap().resources.len(), 2);
    assert_eq!(decode::<ListResponse<ScimGroup>>(ENDPOINT, &body(3)).unwrap().resources.len(), 2);
    assert!(decode::<ListResponse<ScimUser>>(ENDPOINT, &body(4)).unwrap().resources.is_empty());
    for index in 5..BASES.len() {
        assert!(ErrorBody::parse(&body(index)).detail.is_some(), "base {index}");
    }
}

// ---- Directory inputs ------------------------------------------------------------------------------------------

/// Ids that collide, are empty, or differ from another only by padding; sometimes anything.
fn id(pool: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![5 => prop::sample::select(pool).prop_map(str::to_owned), 1 => any::<String>()].boxed()
}

const USER_IDS: &[&str] = &["", "1", "2", "3", " 1", "1 ", "42", "x"];
const TEAM_IDS: &[&str] = &["", "t1", "t2", "t3", " t1", "t1 ", "T1", "x"];

/// Addresses as directories really hold them: odd case, padding, empty, non-ASCII letters whose lower case is longer.
fn address() -> BoxedStrategy<String> {
    const POOL: &[&str] = &[
        "",
        " ",
        "a@x.example",
        " A@X.example ",
        "A@X.EXAMPLE",
        "b@x.example",
        "B@x.example\t",
        "c@x.example",
        "İ@x.example",
        "i̇@x.example",
        "ß@x.example",
        "SS@x.example",
        "Σ@x.example",
        "σ@x.example",
    ];
    prop_oneof![5 => prop::sample::select(POOL).prop_map(str::to_owned), 1 => any::<String>()].boxed()
}

fn scim_ref(pool: &'static [&'static str]) -> BoxedStrategy<ScimRef> {
    id(pool).prop_map(|value| ScimRef { value }).boxed()
}

fn user() -> impl Strategy<Value = ScimUser> {
    let email = (address(), prop::option::of(any::<bool>()), prop::option::of("work|home|"))
        .prop_map(|(value, primary, kind)| ScimEmail { value, primary, kind });
    let name = prop::option::of((prop::option::of(".{0,6}"), prop::option::of(".{0,6}")))
        .prop_map(|name| name.map(|(given_name, family_name)| ScimName { given_name, family_name }));
    let active = prop::option::of(prop_oneof![
        Just(json!(true)),
        Just(json!(false)),
        Just(json!("true")),
        Just(Value::Null),
        Just(json!(1))
    ]);
    (
        id(USER_IDS),
        address(),
        prop::option::of(".{0,8}"),
        name,
        prop::collection::vec(email, 0..3),
        prop::collection::vec(scim_ref(TEAM_IDS), 0..4),
        active,
    )
        .prop_map(|(id, user_name, display_name, name, emails, groups, active)| ScimUser {
            id,
            user_name,
            display_name,
            name,
            emails,
            groups,
            active,
            external_id: None,
        })
}

fn group() -> impl Strategy<Value = ScimGroup> {
    (id(TEAM_IDS), ".{0,8}", prop::option::of("idp-[0-9]"), prop::collection::vec(scim_ref(USER_IDS), 0..5))
        .prop_map(|(id, display_name, external_id, members)| ScimGroup { id, display_name, external_id, members })
}

/// The first resource of each non-empty id, as the directory keeps them.
fn first_of_each<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<&T> {
    let mut seen = HashSet::new();
    items.iter().filter(|item| !id(item).is_empty() && seen.insert(id(item).to_owned())).collect()
}

fn check_directory(users: &[ScimUser], groups: &[ScimGroup], probes: &[String]) -> Result<(), TestCaseError> {
    let directory = Directory::new("node".to_owned(), users.to_vec(), groups.to_vec());
    prop_assert_eq!(directory.node_id(), "node");
    let kept_users = first_of_each(users, |user| &user.id);
    let kept_groups = first_of_each(groups, |group| &group.id);
    let account_ids: Vec<&str> = directory.accounts().iter().map(|account| account.id.as_str()).collect();
    let team_ids: Vec<&str> = directory.teams().iter().map(|team| team.id.as_str()).collect();
    prop_assert_eq!(&account_ids, &kept_users.iter().map(|user| user.id.as_str()).collect::<Vec<_>>());
    prop_assert_eq!(&team_ids, &kept_groups.iter().map(|group| group.id.as_str()).collect::<Vec<_>>());

    for (position, account) in directory.accounts().iter().enumerate() {
        prop_assert_eq!(directory.account(&account.id).map(|found| &found.id), Some(&account.id));
        // Teams: known, de-duplicated, in team order, each listing the account back.
        let positions: Vec<usize> = account
            .team_ids
            .iter()
            .map(|id| {
                team_ids
                    .iter()
                    .position(|team| team == id)
                    .ok_or_else(|| TestCaseError::fail(format!("unknown team {id:?}")))
            })
            .collect::<Result<_, _>>()?;
        prop_assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{:?}", account.team_ids);
        for id in &account.team_ids {
            let team =
                directory.team(id).ok_or_else(|| TestCaseError::fail(format!("team {id:?} does not resolve")))?;
            prop_assert!(team.member_ids.contains(&account.id));
        }
        prop_assert_eq!(
            directory.teams_of(account).iter().map(|team| team.id.clone()).collect::<Vec<_>>(),
            account.team_ids.clone()
        );
        // Membership is exactly the union of both sides' references (trimmed) to resources of the walk.
        let user = kept_users[position];
        for (team_position, group) in kept_groups.iter().enumerate() {
            let said_by_user = user.groups.iter().any(|reference| reference.value.trim() == group.id);
            let said_by_group = group.members.iter().any(|reference| reference.value.trim() == user.id);
            prop_assert_eq!(
                positions.contains(&team_position),
                said_by_user || said_by_group,
                "{} in {}",
                user.id,
                group.id
            );
        }
        // Addresses: normalised, non-empty, distinct, and found again by address.
        let mut distinct = HashSet::new();
        for address in &account.addresses {
            prop_assert!(!address.is_empty() && distinct.insert(address));
            prop_assert_eq!(&normalise_email(address), address);
            prop_assert!(directory.accounts_with_address(address).iter().any(|found| found.id == account.id));
        }
    }
    for team in directory.teams() {
        prop_assert_eq!(directory.team(&team.id).map(|found| &found.id), Some(&team.id));
        let positions: Vec<usize> = team
            .member_ids
            .iter()
            .map(|id| {
                account_ids
                    .iter()
                    .position(|account| account == id)
                    .ok_or_else(|| TestCaseError::fail(format!("unknown member {id:?}")))
            })
            .collect::<Result<_, _>>()?;
        prop_assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{:?}", team.member_ids);
        for id in &team.member_ids {
            let account =
                directory.account(id).ok_or_else(|| TestCaseError::fail(format!("member {id:?} does not resolve")))?;
            prop_assert!(account.team_ids.contains(&team.id));
        }
        prop_assert_eq!(directory.members_of(team).len(), team.member_ids.len());
    }

    // By address: exactly the accounts holding the normalised address, in account order.
    let held = directory.accounts().iter().flat_map(|account| account.addresses.iter().cloned());
    let raw = users.iter().flat_map(|user| {
        std::iter::once(user.user_name.clone()).chain(user.emails.iter().map(|email| email.value.clone()))
    });
    for probe in held.chain(raw).chain(probes.iter().cloned()) {
        let wanted = normalise_email(&probe);
        let expected: Vec<&str> = directory
            .accounts()
            .iter()
            .filter(|account| account.addresses.contains(&wanted))
            .map(|account| account.id.as_str())
            .collect();
        let found = directory.accounts_with_address(&probe);
        prop_assert_eq!(found.iter().map(|account| account.id.as_str()).collect::<Vec<_>>(), expected, "{:?}", probe);
    }
    let ambiguous = directory.ambiguous_addresses();
    prop_assert!(ambiguous.windows(2).all(|pair| pair[0].0 < pair[1].0));
    for (address, accounts) in &ambiguous {
        prop_assert!(accounts.len() > 1);
        prop_assert_eq!(accounts.len(), directory.accounts_with_address(address).len());
    }
    let held_twice = directory
        .accounts()
        .iter()
        .flat_map(|account| account.addresses.iter())
        .filter(|address| directory.accounts_with_address(address).len() > 1)
        .collect::<HashSet<_>>();
    prop_assert_eq!(held_twice.len(), ambiguous.len());
    Ok(())
}

// ---- List walks ------------------------------------------------------------------------------------------------

fn total() -> impl Strategy<Value = Option<u64>> {
    prop::option::of(prop_oneof![4 => 0..12u64, 1 => Just(u64::MAX), 1 => Just(u64::MAX - 1), 1 => any::<u64>()])
}

fn list_page() -> impl Strategy<Value = ListResponse<ScimUser>> {
    (total(), prop::collection::vec(id(USER_IDS), 0..5)).prop_map(|(total_results, ids)| ListResponse {
        total_results,
        start_index: None,
        items_per_page: None,
        resources: ids.into_iter().map(|id| ScimUser { id, ..ScimUser::default() }).collect(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_decode_or_fail_as_every_scim_type(body in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_as_everything(&body)?;
    }

    #[test]
    fn any_json_with_scim_field_names_decodes_or_fails(value in json_strategies::json(KEYS.clone())) {
        decode_as_everything(&to_body(&value))?;
    }

    #[test]
    fn real_scim_payloads_edited_anywhere_decode_or_fail(body in json_strategies::body(BASES.clone(), KEYS.clone())) {
        decode_as_everything(&body)?;
    }

    #[test]
    fn a_directory_over_any_users_and_teams_keeps_its_indexes_consistent(
        users in prop::collection::vec(user(), 0..8),
        groups in prop::collection::vec(group(), 0..6),
        probes in prop::collection::vec(address(), 0..4),
    ) {
        check_directory(&users, &groups, &probes)?;
    }

    #[test]
    fn a_directory_over_decoded_users_and_teams_keeps_its_indexes_consistent(
        users in prop::collection::vec(json_strategies::edited(vec![user_json()], KEYS.clone()), 0..5),
        groups in prop::collection::vec(json_strategies::edited(vec![group_json()], KEYS.clone()), 0..4),
    ) {
        let users: Vec<ScimUser> = users.into_iter().filter_map(|user| serde_json::from_value(user).ok()).collect();
        let groups: Vec<ScimGroup> =
            groups.into_iter().filter_map(|group| serde_json::from_value(group).ok()).collect();
        check_directory(&users, &groups, &[])?;
    }

    #[test]
    fn walks_over_any_pages_end_in_a_list_or_an_error(
        script in prop::collection::vec(list_page(), 1..10),
        page_size in any::<u32>(),
    ) {
        let mut served = 0usize;
        let walked = futures::executor::block_on(walk("/Users", page_size, |request: PageRequest| {
            let page = script.get(served).cloned();
            served += 1;
            let valid = request.start_index >= 1 && request.count >= 1;
            async move {
                match page {
                    Some(page) if valid => Ok(page),
                    Some(_) => Err(KeeperError::Config(format!("asked for {request:?}"))),
                    None => Err(KeeperError::Unavailable { endpoint: "/Users".to_owned(), status: None, detail: None }),
                }
            }
        }));
        prop_assert!(served <= script.len() + 1);
        match walked {
            Ok(users) => {
                let mut seen = HashSet::new();
                prop_assert!(users.iter().all(|user| user.id.is_empty() || seen.insert(user.id.clone())));
            }
            Err(KeeperError::Inconsistent { .. } | KeeperError::Unavailable { .. }) => {}
            Err(other) => prop_assert!(false, "the walk failed with {:?}", other),
        }
    }
}

//! The directory of one Keeper node: every account and team from one walk of `/Users` and `/Groups`, joined and
//! indexed, and rebuilt through [`crate::upstream::Refreshing`].
//!
//! Membership is the union of what both sides say: `User.groups[].value` (proven in Keeper's own code) and
//! `Group.members[].value` (the RFC shape, not recorded from Keeper). Only references to resources of the walk are
//! kept, so the two directions always agree: `team ∈ teams_of(account)` ⇔ `account ∈ members_of(team)`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::client::KeeperClient;
use super::error::KeeperError;
use super::models::{ScimGroup, ScimUser};
use crate::upstream::{Freshness, Refreshing};

/// What SCIM can say about an account: only `active` (a locked account reads `false`). Invited and disabled
/// accounts cannot be told apart through SCIM and are never inferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountStatus {
    /// `active: true`.
    Active,
    /// `active: false`: locked (also how IdP "deactivate" and Entra "disable" show).
    Locked,
    /// `active` missing, `null`, or not a JSON boolean.
    Unknown,
}

impl AccountStatus {
    pub fn from_active(active: Option<&serde_json::Value>) -> Self {
        match active {
            Some(serde_json::Value::Bool(true)) => Self::Active,
            Some(serde_json::Value::Bool(false)) => Self::Locked,
            _ => Self::Unknown,
        }
    }
}

/// One Keeper account of the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Keeper's Enterprise User ID (opaque string).
    pub id: String,
    pub user_name: String,
    /// `emails[primary].value` if present, else `userName` (trimmed, case kept).
    pub email: String,
    /// `name.givenName` + `name.familyName` if non-empty, else `displayName`, else `userName`.
    pub display_name: String,
    pub status: AccountStatus,
    /// Teams of this node the account belongs to, by either side's word; de-duplicated, in team order.
    pub team_ids: Vec<String>,
    /// Every address the account holds, normalised: `userName` then each `emails[].value`; de-duplicated, empty ones
    /// dropped.
    pub addresses: Vec<String>,
}

/// One Keeper team of the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// The Team UID (opaque string).
    pub id: String,
    /// `displayName` as Keeper sent it (may be empty).
    pub name: String,
    pub external_id: Option<String>,
    /// Accounts of this node in the team, by either side's word; de-duplicated, in account order.
    pub member_ids: Vec<String>,
}

/// Trims and lowercases an address: the one form every email comparison uses.
pub fn normalise_email(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Every account and team of one node, in Keeper's order, with the indexes the graph needs.
#[derive(Debug)]
pub struct Directory {
    node_id: String,
    accounts: Vec<Arc<Account>>,
    teams: Vec<Arc<Team>>,
    account_positions: HashMap<String, usize>,
    team_positions: HashMap<String, usize>,
    /// Normalised address → positions of the accounts holding it, in account order.
    by_address: HashMap<String, Vec<usize>>,
}

impl Directory {
    /// Joins one walk of users and groups. Resources without an id are dropped; a repeated id keeps its first
    /// occurrence; references to users or teams outside the walk are dropped (logged).
    pub fn new(node_id: String, users: Vec<ScimUser>, groups: Vec<ScimGroup>) -> Self {
        let users = first_of_each_id(users, |user| &user.id, "user");
        let groups = first_of_each_id(groups, |group| &group.id, "team");
        let account_positions: HashMap<String, usize> =
            users.iter().enumerate().map(|(position, user)| (user.id.clone(), position)).collect();
        let team_positions: HashMap<String, usize> =
            groups.iter().enumerate().map(|(position, group)| (group.id.clone(), position)).collect();

        // The union of both sides, as (account position, team position) pairs.
        let mut pairs: HashSet<(usize, usize)> = HashSet::new();
        let mut dangling = 0usize;
        for (account, user) in users.iter().enumerate() {
            for group in &user.groups {
                match team_positions.get(group.value.trim()) {
                    Some(team) => {
                        pairs.insert((account, *team));
                    }
                    None => dangling += 1,
                }
            }
        }
        for (team, group) in groups.iter().enumerate() {
            for member in &group.members {
                match account_positions.get(member.value.trim()) {
                    Some(account) => {
                        pairs.insert((*account, team));
                    }
                    None => dangling += 1,
                }
            }
        }
        if dangling > 0 {
            tracing::debug!(node = %node_id, dangling, "membership references outside this node's walk were dropped");
        }
        let mut teams_of: Vec<Vec<usize>> = vec![Vec::new(); users.len()];
        let mut members_of: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
        for (account, team) in pairs {
            teams_of[account].push(team);
            members_of[team].push(account);
        }

        let mut by_address: HashMap<String, Vec<usize>> = HashMap::new();
        let accounts: Vec<Arc<Account>> = users
            .iter()
            .zip(&mut teams_of)
            .enumerate()
            .map(|(position, (user, teams))| {
                teams.sort_unstable();
                let account = account_from(user, teams.iter().map(|team| groups[*team].id.clone()).collect());
                for address in &account.addresses {
                    by_address.entry(address.clone()).or_default().push(position);
                }
                Arc::new(account)
            })
            .collect();
        let teams: Vec<Arc<Team>> = groups
            .into_iter()
            .zip(&mut members_of)
            .map(|(group, members)| {
                members.sort_unstable();
                Arc::new(Team {
                    id: group.id,
                    name: group.display_name,
                    external_id: group.external_id,
                    member_ids: members.iter().map(|account| users[*account].id.clone()).collect(),
                })
            })
            .collect();
        Self { node_id, accounts, teams, account_positions, team_positions, by_address }
    }

    /// The node this directory lists. One token covers one node, not its sub-nodes.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Every account, in Keeper's order.
    pub fn accounts(&self) -> &[Arc<Account>] {
        &self.accounts
    }

    /// Every team, in Keeper's order.
    pub fn teams(&self) -> &[Arc<Team>] {
        &self.teams
    }

    pub fn account(&self, id: &str) -> Option<&Arc<Account>> {
        self.account_positions.get(id).map(|position| &self.accounts[*position])
    }

    pub fn team(&self, id: &str) -> Option<&Arc<Team>> {
        self.team_positions.get(id).map(|position| &self.teams[*position])
    }

    /// Every account holding `email` (normalised here) as its `userName` or one of its `emails`, in account order.
    /// More than one means the address is ambiguous: report it, never pick one.
    pub fn accounts_with_address(&self, email: &str) -> Vec<Arc<Account>> {
        self.by_address
            .get(&normalise_email(email))
            .map(|positions| positions.iter().map(|position| self.accounts[*position].clone()).collect())
            .unwrap_or_default()
    }

    /// Every normalised address held by more than one account, with those accounts; sorted by address.
    pub fn ambiguous_addresses(&self) -> Vec<(String, Vec<Arc<Account>>)> {
        let mut ambiguous: Vec<(String, Vec<Arc<Account>>)> = self
            .by_address
            .iter()
            .filter(|(_, positions)| positions.len() > 1)
            .map(|(address, positions)| {
                (address.clone(), positions.iter().map(|position| self.accounts[*position].clone()).collect())
            })
            .collect();
        ambiguous.sort_by(|a, b| a.0.cmp(&b.0));
        ambiguous
    }

    /// The account's teams, in team order.
    pub fn teams_of(&self, account: &Account) -> Vec<Arc<Team>> {
        account.team_ids.iter().filter_map(|id| self.team(id).cloned()).collect()
    }

    /// The team's members, in account order.
    pub fn members_of(&self, team: &Team) -> Vec<Arc<Account>> {
        team.member_ids.iter().filter_map(|id| self.account(id).cloned()).collect()
    }

    /// The directory of the client's node: one walk of `/Users` and one of `/Groups` (concurrently), rebuilt as
    /// `freshness` says. Give it a TTL of minutes: the directory is eventually consistent anyway.
    pub fn source(client: KeeperClient, freshness: Freshness) -> Arc<DirectorySource> {
        Refreshing::new("keeper directory", freshness, move || {
            let client = client.clone();
            Box::pin(async move {
                let (users, groups) = futures::try_join!(client.all_users(), client.all_groups())?;
                tracing::info!(
                    node = %client.node_id(),
                    users = users.len(),
                    teams = groups.len(),
                    "walked every Keeper user and team"
                );
                Ok(Directory::new(client.node_id(), users, groups))
            })
        })
    }
}

/// Hands out the current directory, rebuilding it at most once at a time.
pub type DirectorySource = Refreshing<Directory, KeeperError>;

fn first_of_each_id<T>(items: Vec<T>, id: impl Fn(&T) -> &String, what: &'static str) -> Vec<T> {
    let mut seen = HashSet::new();
    let mut dropped = 0usize;
    let kept: Vec<T> = items
        .into_iter()
        .filter(|item| {
            let keep = !id(item).is_empty() && seen.insert(id(item).clone());
            dropped += usize::from(!keep);
            keep
        })
        .collect();
    if dropped > 0 {
        tracing::warn!(what, dropped, "Keeper resources without an id, or with a repeated id, were dropped");
    }
    kept
}

fn account_from(user: &ScimUser, team_ids: Vec<String>) -> Account {
    let user_name = user.user_name.trim();
    let email = user
        .emails
        .iter()
        .find(|email| email.primary == Some(true) && !email.value.trim().is_empty())
        .map_or(user_name, |email| email.value.trim())
        .to_owned();
    let full_name = user
        .name
        .iter()
        .flat_map(|name| [&name.given_name, &name.family_name])
        .filter_map(|part| part.as_deref().map(str::trim).filter(|part| !part.is_empty()))
        .collect::<Vec<_>>()
        .join(" ");
    let display_name = if !full_name.is_empty() {
        full_name
    } else {
        user.display_name.as_deref().map(str::trim).filter(|name| !name.is_empty()).unwrap_or(user_name).to_owned()
    };
    let mut addresses: Vec<String> = Vec::new();
    for address in std::iter::once(user.user_name.as_str()).chain(user.emails.iter().map(|email| email.value.as_str()))
    {
        let address = normalise_email(address);
        if !address.is_empty() && !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    Account {
        id: user.id.clone(),
        user_name: user.user_name.clone(),
        email,
        display_name,
        status: AccountStatus::from_active(user.active.as_ref()),
        team_ids,
        addresses,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user(value: serde_json::Value) -> ScimUser {
        serde_json::from_value(value).unwrap()
    }

    fn group(value: serde_json::Value) -> ScimGroup {
        serde_json::from_value(value).unwrap()
    }

    fn ids<T>(items: &[Arc<T>], id: impl Fn(&T) -> &str) -> Vec<String> {
        items.iter().map(|item| id(item).to_owned()).collect()
    }

    fn sample() -> Directory {
        let users = vec![
            user(json!({"id": "1", "userName": "Priya.Nair@acme.example", "active": true,
                "name": {"givenName": "Priya", "familyName": "Nair"}, "displayName": "P N",
                "emails": [{"value": "priya.nair@acme.example", "primary": true}, {"value": "pn@acme.example"}],
                "groups": [{"value": "team-b"}, {"value": "team-a"}, {"value": "role-prefixed"}]})),
            user(
                json!({"id": "2", "userName": "svc@acme.example", "active": false, "displayName": "svc@acme.example"}),
            ),
            user(json!({"id": "3", "userName": "omar@acme.example", "emails": [{"value": "PN@acme.example"}]})),
        ];
        let groups = vec![
            group(json!({"id": "team-a", "displayName": "Alpha", "members": [{"value": "3"}, {"value": "1"}]})),
            group(json!({"id": "team-b", "displayName": "Beta", "members": [{"value": "99"}]})),
            group(json!({"id": "team-c", "displayName": "Gamma", "externalId": "idp-c",
                "members": [{"value": "2"}, {"value": "2"}]})),
        ];
        Directory::new("345074852429829".to_owned(), users, groups)
    }

    #[test]
    fn accounts_and_teams_keep_keepers_order_and_are_found_by_id() {
        let directory = sample();
        assert_eq!(directory.node_id(), "345074852429829");
        assert_eq!(ids(directory.accounts(), |account| &account.id), ["1", "2", "3"]);
        assert_eq!(ids(directory.teams(), |team| &team.id), ["team-a", "team-b", "team-c"]);
        assert_eq!(directory.account("2").unwrap().user_name, "svc@acme.example");
        assert_eq!(directory.team("team-c").unwrap().external_id.as_deref(), Some("idp-c"));
        assert!(directory.account("99").is_none() && directory.team("nope").is_none());
    }

    #[test]
    fn memberships_are_the_union_of_both_sides_in_the_other_sides_order() {
        let directory = sample();
        let priya = directory.account("1").unwrap();
        // User.groups says b, a (and an unknown role group); Group.members of team-a agrees. Team order: a, b.
        assert_eq!(priya.team_ids, ["team-a", "team-b"]);
        // Only Group.members says 3 is in team-a.
        assert_eq!(directory.account("3").unwrap().team_ids, ["team-a"]);
        assert_eq!(directory.team("team-a").unwrap().member_ids, ["1", "3"]);
        // Only User.groups says 1 is in team-b; member 99 is not in the walk.
        assert_eq!(directory.team("team-b").unwrap().member_ids, ["1"]);
        // Listed twice, counted once.
        assert_eq!(directory.team("team-c").unwrap().member_ids, ["2"]);
        assert_eq!(ids(&directory.teams_of(priya), |team| &team.id), ["team-a", "team-b"]);
        let alpha = directory.team("team-a").unwrap();
        assert_eq!(ids(&directory.members_of(alpha), |account| &account.id), ["1", "3"]);
        for account in directory.accounts() {
            for team in directory.teams_of(account) {
                assert!(team.member_ids.contains(&account.id), "{} / {}", account.id, team.id);
            }
        }
    }

    #[test]
    fn addresses_are_normalised_and_an_address_held_twice_is_ambiguous() {
        let directory = sample();
        assert_eq!(directory.account("1").unwrap().addresses, ["priya.nair@acme.example", "pn@acme.example"]);
        assert_eq!(ids(&directory.accounts_with_address("  PRIYA.nair@ACME.example "), |account| &account.id), ["1"]);
        assert_eq!(ids(&directory.accounts_with_address("pn@acme.example"), |account| &account.id), ["1", "3"]);
        assert!(directory.accounts_with_address("nobody@acme.example").is_empty());
        assert!(directory.accounts_with_address("  ").is_empty());
        let ambiguous = directory.ambiguous_addresses();
        assert_eq!(ambiguous.len(), 1);
        assert_eq!(ambiguous[0].0, "pn@acme.example");
        assert_eq!(ids(&ambiguous[0].1, |account| &account.id), ["1", "3"]);
    }

    #[test]
    fn email_and_display_name_fall_back_as_documented() {
        let directory = sample();
        let priya = directory.account("1").unwrap();
        assert_eq!(priya.email, "priya.nair@acme.example", "the primary email");
        assert_eq!(priya.display_name, "Priya Nair", "the name wins over displayName");
        let svc = directory.account("2").unwrap();
        assert_eq!(svc.display_name, "svc@acme.example", "no name: displayName");
        let omar = directory.account("3").unwrap();
        assert_eq!(omar.email, "omar@acme.example", "no primary email: userName");
        assert_eq!(omar.display_name, "omar@acme.example", "nothing else: userName");

        let only_family = Directory::new(
            "1".to_owned(),
            vec![user(json!({"id": "9", "userName": "x@y", "name": {"givenName": " ", "familyName": "Rao"}}))],
            Vec::new(),
        );
        assert_eq!(only_family.accounts()[0].display_name, "Rao");
    }

    #[test]
    fn status_maps_only_json_booleans() {
        let cases = [
            (Some(json!(true)), AccountStatus::Active),
            (Some(json!(false)), AccountStatus::Locked),
            (Some(json!("true")), AccountStatus::Unknown),
            (Some(json!(1)), AccountStatus::Unknown),
            (Some(serde_json::Value::Null), AccountStatus::Unknown),
            (None, AccountStatus::Unknown),
        ];
        for (active, expected) in cases {
            assert_eq!(AccountStatus::from_active(active.as_ref()), expected, "{active:?}");
        }
        let directory = sample();
        assert_eq!(directory.account("1").unwrap().status, AccountStatus::Active);
        assert_eq!(directory.account("2").unwrap().status, AccountStatus::Locked);
        assert_eq!(directory.account("3").unwrap().status, AccountStatus::Unknown);
    }

    #[test]
    fn resources_without_an_id_or_repeated_are_dropped() {
        let directory = Directory::new(
            "1".to_owned(),
            vec![
                user(json!({"userName": "no-id@acme.example"})),
                user(json!({"id": "1", "userName": "first@acme.example"})),
                user(json!({"id": "1", "userName": "second@acme.example"})),
            ],
            vec![group(json!({"displayName": "no id"}))],
        );
        assert_eq!(ids(directory.accounts(), |account| &account.id), ["1"]);
        assert_eq!(directory.account("1").unwrap().user_name, "first@acme.example");
        assert!(directory.teams().is_empty());
        assert!(directory.accounts_with_address("no-id@acme.example").is_empty());
    }

    #[test]
    fn normalise_email_trims_and_lowercases() {
        assert_eq!(normalise_email("  Priya.Nair@ACME.Example\t\n"), "priya.nair@acme.example");
        assert_eq!(normalise_email(" A@B "), "a@b");
        assert_eq!(normalise_email(""), "");
    }
}

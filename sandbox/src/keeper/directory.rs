//! The simulated Keeper node's users and teams, derived from the Keka tenant's employees.
//!
//! Generation is deterministic in the tenant (its employees, departments and seed). The data
//! deliberately holds every case an access review joining Keka to Keeper has to handle:
//! matched accounts (exact, different letter case, through `emails[]` only), locked
//! accounts, working employees without an account, relieved employees whose account is still
//! active (the drift) or locked, accounts with no employee (contractors, service accounts),
//! and one address held by two accounts. See [`KeeperDirectory::generate`] for the rules.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::tenant::{EmploymentStatus, Guid, Tenant};

/// RNG stream of Keeper generation (the tenant uses streams 1-4, faults `0xfa17`).
const KEEPER_STREAM: u64 = 0x6b65_6570_6572;

/// Domain of IdP alias user names (`pnair@corp-idp.example`).
pub const IDP_ALIAS_DOMAIN: &str = "corp-idp.example";
/// Domain of contractor accounts.
pub const CONTRACTOR_DOMAIN: &str = "contractor.example";

/// Local parts of service accounts, in the order they are created.
const SERVICE_ACCOUNTS: &[&str] =
    &["svc-backup", "svc-ci", "svc-monitoring", "svc-scim-bridge", "svc-reporting", "svc-deploy", "svc-vault-export"];

const CONTRACTOR_FIRST: &[&str] = &[
    "Alex", "Jordan", "Morgan", "Casey", "Taylor", "Riley", "Jamie", "Avery", "Quinn", "Rowan", "Sasha", "Devon",
    "Kiran", "Noor", "Mateo", "Elena", "Tomasz", "Ingrid", "Kofi", "Mei",
];
const CONTRACTOR_LAST: &[&str] = &[
    "Brennan",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Castillo",
    "Novak",
    "Haddad",
    "Kowalski",
    "Fischer",
    "Tanaka",
    "Oduya",
    "Varga",
    "Silva",
    "Duarte",
    "Keane",
    "Ahlberg",
    "Rossi",
    "Mensah",
    "Petrov",
    "Yilmaz",
];

/// Why an account exists: which slice of the generated directory it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeeperAccountCategory {
    /// A working employee's active account; `userName` is the Keka work e-mail, same case.
    WorkingActive,
    /// A working employee's active account; `userName` is the work e-mail in different letter case.
    WorkingActiveCaseVariant,
    /// A working employee's active account whose `userName` is an IdP alias; the work e-mail
    /// appears only in `emails[]` (primary or not).
    WorkingActiveEmailsOnly,
    /// A working employee's locked account (`active: false`); `userName` is the work e-mail.
    WorkingLocked,
    /// A relieved employee's account that is still active (the drift an access review looks for).
    RelievedActive,
    /// A relieved employee's locked account.
    RelievedLocked,
    /// An external contractor (`first.last@contractor.example`); no employee.
    Contractor,
    /// A service account (`svc-…@<company domain>`, no `name`, `displayName` = e-mail); no employee.
    ServiceAccount,
    /// A second account holding an employee's work e-mail (in `emails[]`, different case) next
    /// to that employee's [`WorkingActive`](Self::WorkingActive) account: the ambiguous case.
    DuplicateAddress,
}

impl KeeperAccountCategory {
    /// Every category, in declaration order.
    pub const ALL: [KeeperAccountCategory; 9] = [
        Self::WorkingActive,
        Self::WorkingActiveCaseVariant,
        Self::WorkingActiveEmailsOnly,
        Self::WorkingLocked,
        Self::RelievedActive,
        Self::RelievedLocked,
        Self::Contractor,
        Self::ServiceAccount,
        Self::DuplicateAddress,
    ];
}

/// `name` of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeeperName {
    pub given_name: String,
    pub family_name: String,
}

/// One entry of `emails[]` (its `type` is always `work`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeeperEmail {
    pub value: String,
    pub primary: bool,
}

/// One Keeper user of the node.
#[derive(Debug, Clone)]
pub struct KeeperAccount {
    /// Enterprise user id: 15 decimal digits, no leading zero.
    pub id: String,
    pub user_name: String,
    pub display_name: String,
    /// Absent for service accounts.
    pub name: Option<KeeperName>,
    pub emails: Vec<KeeperEmail>,
    /// `false` = locked.
    pub active: bool,
    /// Indices into [`KeeperDirectory::teams`], ascending (rendered as `groups[]`).
    pub teams: Vec<usize>,
    /// The Keka employee this account was derived from (none for contractors and service accounts).
    pub employee: Option<Guid>,
    pub category: KeeperAccountCategory,
}

impl KeeperAccount {
    /// `userName` and every `emails[].value`, trimmed and lower-cased, without duplicates.
    pub fn addresses(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(1 + self.emails.len());
        for a in std::iter::once(&self.user_name).chain(self.emails.iter().map(|e| &e.value)) {
            let a = a.trim().to_lowercase();
            if !a.is_empty() && !out.contains(&a) {
                out.push(a);
            }
        }
        out
    }
}

/// One Keeper team (a SCIM Group) of the node.
#[derive(Debug, Clone)]
pub struct KeeperTeam {
    /// Team UID: 16 bytes as base64url without padding (22 characters, may hold `-` and `_`).
    pub id: String,
    pub display_name: String,
    /// The IdP's group id, for teams an IdP created.
    pub external_id: Option<String>,
    /// Indices into [`KeeperDirectory::accounts`], ascending (rendered as `members[]`).
    pub members: Vec<usize>,
    /// The Keka department the team was modelled on, if any.
    pub department: Option<Guid>,
}

/// The node's users and teams.
#[derive(Debug, Clone)]
pub struct KeeperDirectory {
    /// Sorted by `id` (numerically, as all ids have 15 digits).
    pub accounts: Vec<KeeperAccount>,
    pub teams: Vec<KeeperTeam>,
    account_by_id: HashMap<String, usize>,
    team_by_id: HashMap<String, usize>,
}

/// `max(1, round(n × share))`, or 0 when `n` is 0, never more than `n`.
fn share(n: usize, fraction: f64) -> usize {
    if n == 0 { 0 } else { ((n as f64 * fraction).round() as usize).clamp(1, n) }
}

/// Work e-mail with every dot-separated word of the local part capitalised
/// (`priya.nair2@acme.example` → `Priya.Nair2@acme.example`).
fn capitalised(email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let local: Vec<String> = local
        .split('.')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
        })
        .collect();
    format!("{}@{domain}", local.join("."))
}

/// A case variant of a work e-mail that differs from it: capitalised words, or every third
/// one entirely upper case.
fn case_variant(email: &str, k: usize) -> String {
    let variant = if k % 3 == 2 { email.to_uppercase() } else { capitalised(email) };
    if variant == email { email.to_uppercase() } else { variant }
}

/// Lowercase ASCII letters and digits of a name.
fn slug(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// Picks a fresh 15-digit id.
fn user_id<R: Rng + ?Sized>(rng: &mut R, used: &mut HashSet<u64>) -> String {
    loop {
        let id = rng.random_range(100_000_000_000_000..1_000_000_000_000_000u64);
        if used.insert(id) {
            return id.to_string();
        }
    }
}

/// Picks a fresh team UID; with `dash_or_underscore` one that holds `-` or `_`.
fn team_uid<R: Rng + ?Sized>(rng: &mut R, used: &mut HashSet<String>, dash_or_underscore: bool) -> String {
    loop {
        let uid = URL_SAFE_NO_PAD.encode(rng.random::<[u8; 16]>());
        if dash_or_underscore && !uid.contains(['-', '_']) {
            continue;
        }
        if used.insert(uid.clone()) {
            return uid;
        }
    }
}

/// An account before ids are sorted and teams attached.
struct Draft {
    user_name: String,
    display_name: String,
    name: Option<KeeperName>,
    emails: Vec<KeeperEmail>,
    active: bool,
    employee: Option<usize>,
    category: KeeperAccountCategory,
}

impl Draft {
    /// An account whose only address is `user_name` (Keeper ties `emails[primary]` to it).
    fn plain(
        user_name: String,
        display_name: String,
        name: Option<KeeperName>,
        active: bool,
        employee: Option<usize>,
        category: KeeperAccountCategory,
    ) -> Draft {
        let emails = vec![KeeperEmail { value: user_name.clone(), primary: true }];
        Draft { user_name, display_name, name, emails, active, employee, category }
    }
}

impl KeeperDirectory {
    /// Derives the node's users and teams from `tenant`. Deterministic in the tenant.
    ///
    /// Rules (`share(n, p)` = `max(1, round(n × p))`, 0 for an empty group):
    /// - Working employees, shuffled: `share(W, 3%)` get a LOCKED account, `share(W, 2.5%)` an
    ///   ACTIVE account matched only through `emails[]` (alternately a non-primary entry next to
    ///   a primary alias, and the sole, primary entry), `share(W, 4.5%)` no account; the rest
    ///   an ACTIVE account with `userName` = work e-mail, `share(rest, 5%)` of them in different
    ///   letter case.
    /// - Relieved employees, shuffled: `share(R, 30%)` ACTIVE, `share(R, 40%)` LOCKED, the rest
    ///   (at least one when R ≥ 3) no account.
    /// - `max(2, round(3% × employees))` contractors (the last one locked when there are three
    ///   or more) and `max(1, round(1.2% × employees))` service accounts (at most 7).
    /// - One working employee with a same-case ACTIVE account also gets a second account
    ///   (`<local>-admin@<domain>`) whose non-primary `emails[]` entry is their work e-mail in
    ///   upper case.
    /// - Teams: one per department that has employees and is not archived, except
    ///   `share(D, 15%)` of them; `share(D, 25%)` are named `"<department> Team"`, the others
    ///   exactly like the department (those carry an `externalId`). Each account of the
    ///   department's employees is a member with probability 0.9. Then "Security Admins" (up to
    ///   4 active working accounts from IT / Platform Engineering), "Shared Vault – Finance" (up
    ///   to 8 accounts of Finance employees plus the first service account), "Contractors" (every
    ///   contractor) and "Project Atlas (archived)" (no members).
    pub fn generate(tenant: &Tenant) -> KeeperDirectory {
        use KeeperAccountCategory as C;

        let mut rng = ChaCha8Rng::seed_from_u64(tenant.seed);
        rng.set_stream(KEEPER_STREAM);
        let domain = tenant.company.domain.as_str();
        let employees = &tenant.employees;
        let person = |i: usize| {
            let e = &employees[i];
            (
                format!("{} {}", e.first_name, e.last_name),
                Some(KeeperName { given_name: e.first_name.clone(), family_name: e.last_name.clone() }),
            )
        };

        let mut drafts: Vec<Draft> = Vec::new();

        // Working employees.
        let mut working: Vec<usize> =
            (0..employees.len()).filter(|&i| employees[i].employment_status == EmploymentStatus::Working).collect();
        working.shuffle(&mut rng);
        let n = working.len();
        let locked_n = share(n, 0.03);
        let alias_n = share(n, 0.025).min(n - locked_n);
        let none_n = share(n, 0.045).min(n - locked_n - alias_n);
        let (locked, rest) = working.split_at(locked_n);
        let (alias, rest) = rest.split_at(alias_n);
        let (_without_account, active) = rest.split_at(none_n);
        let variant_n = share(active.len(), 0.05).min(active.len().saturating_sub(1));
        let (variant, same_case) = active.split_at(variant_n);

        for &i in locked {
            let (display, name) = person(i);
            drafts.push(Draft::plain(employees[i].email.clone(), display, name, false, Some(i), C::WorkingLocked));
        }
        let mut aliases: HashSet<String> = HashSet::new();
        for (k, &i) in alias.iter().enumerate() {
            let e = &employees[i];
            let base = format!("{}{}", slug(&e.first_name).chars().next().unwrap_or('x'), slug(&e.last_name));
            let mut local = base.clone();
            let mut m = 2;
            while !aliases.insert(local.clone()) {
                local = format!("{base}{m}");
                m += 1;
            }
            let user_name = format!("{local}@{IDP_ALIAS_DOMAIN}");
            let emails = if k % 2 == 0 {
                vec![
                    KeeperEmail { value: user_name.clone(), primary: true },
                    KeeperEmail { value: e.email.clone(), primary: false },
                ]
            } else {
                vec![KeeperEmail { value: e.email.clone(), primary: true }]
            };
            let (display_name, name) = person(i);
            drafts.push(Draft {
                user_name,
                display_name,
                name,
                emails,
                active: true,
                employee: Some(i),
                category: C::WorkingActiveEmailsOnly,
            });
        }
        for (k, &i) in variant.iter().enumerate() {
            let (display, name) = person(i);
            let user_name = case_variant(&employees[i].email, k);
            drafts.push(Draft::plain(user_name, display, name, true, Some(i), C::WorkingActiveCaseVariant));
        }
        for &i in same_case {
            let (display, name) = person(i);
            drafts.push(Draft::plain(employees[i].email.clone(), display, name, true, Some(i), C::WorkingActive));
        }
        // The ambiguous address: a second account of the first same-case employee.
        if let Some(&i) = same_case.first() {
            let e = &employees[i];
            let (local, _) = e.email.split_once('@').unwrap_or((&e.email, ""));
            let user_name = format!("{local}-admin@{domain}");
            let (display, name) = person(i);
            drafts.push(Draft {
                emails: vec![
                    KeeperEmail { value: user_name.clone(), primary: true },
                    KeeperEmail { value: e.email.to_uppercase(), primary: false },
                ],
                user_name,
                display_name: format!("{display} (admin)"),
                name,
                active: true,
                employee: Some(i),
                category: C::DuplicateAddress,
            });
        }

        // Relieved employees.
        let mut relieved: Vec<usize> =
            (0..employees.len()).filter(|&i| employees[i].employment_status == EmploymentStatus::Relieved).collect();
        relieved.shuffle(&mut rng);
        let r = relieved.len();
        let active_n = share(r, 0.30);
        let mut locked_n = share(r, 0.40).min(r - active_n);
        if r >= 3 && active_n + locked_n == r {
            locked_n -= 1;
        }
        for (k, &i) in relieved.iter().take(active_n + locked_n).enumerate() {
            let (display, name) = person(i);
            let (active, category) = if k < active_n { (true, C::RelievedActive) } else { (false, C::RelievedLocked) };
            drafts.push(Draft::plain(employees[i].email.clone(), display, name, active, Some(i), category));
        }

        // Accounts without an employee.
        let total = employees.len() as f64;
        let contractors_n = ((total * 0.03).round() as usize).max(2);
        let mut contractor_names: HashSet<String> = HashSet::new();
        for k in 0..contractors_n {
            let first = CONTRACTOR_FIRST[rng.random_range(0..CONTRACTOR_FIRST.len())];
            let last = CONTRACTOR_LAST[rng.random_range(0..CONTRACTOR_LAST.len())];
            let base = format!("{}.{}", slug(first), slug(last));
            let mut local = base.clone();
            let mut m = 2;
            while !contractor_names.insert(local.clone()) {
                local = format!("{base}{m}");
                m += 1;
            }
            let active = !(contractors_n >= 3 && k + 1 == contractors_n);
            drafts.push(Draft::plain(
                format!("{local}@{CONTRACTOR_DOMAIN}"),
                format!("{first} {last}"),
                Some(KeeperName { given_name: first.to_owned(), family_name: last.to_owned() }),
                active,
                None,
                C::Contractor,
            ));
        }
        let service_n = ((total * 0.012).round() as usize).clamp(1, SERVICE_ACCOUNTS.len());
        for local in &SERVICE_ACCOUNTS[..service_n] {
            let email = format!("{local}@{domain}");
            drafts.push(Draft::plain(email.clone(), email, None, true, None, C::ServiceAccount));
        }

        // Ids, then the order a list returns: ascending id.
        let mut used_ids = HashSet::new();
        let mut accounts: Vec<KeeperAccount> = drafts
            .into_iter()
            .map(|d| KeeperAccount {
                id: user_id(&mut rng, &mut used_ids),
                user_name: d.user_name,
                display_name: d.display_name,
                name: d.name,
                emails: d.emails,
                active: d.active,
                teams: Vec::new(),
                employee: d.employee.map(|i| employees[i].id),
                category: d.category,
            })
            .collect();
        accounts.sort_by(|a, b| a.id.cmp(&b.id));

        let teams = generate_teams(&mut rng, tenant, &accounts);
        for (t, team) in teams.iter().enumerate() {
            for &a in &team.members {
                accounts[a].teams.push(t);
            }
        }

        let account_by_id = accounts.iter().enumerate().map(|(i, a)| (a.id.clone(), i)).collect();
        let team_by_id = teams.iter().enumerate().map(|(i, t)| (t.id.clone(), i)).collect();
        KeeperDirectory { accounts, teams, account_by_id, team_by_id }
    }

    /// The account with this id.
    pub fn account(&self, id: &str) -> Option<&KeeperAccount> {
        self.account_by_id.get(id).map(|&i| &self.accounts[i])
    }

    /// The team with this UID.
    pub fn team(&self, id: &str) -> Option<&KeeperTeam> {
        self.team_by_id.get(id).map(|&i| &self.teams[i])
    }

    /// Accounts derived from this employee (none, one, or two for the ambiguous case).
    pub fn accounts_of(&self, employee: Guid) -> impl Iterator<Item = &KeeperAccount> {
        self.accounts.iter().filter(move |a| a.employee == Some(employee))
    }

    /// Accounts of one category.
    pub fn accounts_in(&self, category: KeeperAccountCategory) -> impl Iterator<Item = &KeeperAccount> {
        self.accounts.iter().filter(move |a| a.category == category)
    }

    /// Number of accounts per category, in [`KeeperAccountCategory::ALL`] order.
    pub fn category_counts(&self) -> Vec<(KeeperAccountCategory, usize)> {
        KeeperAccountCategory::ALL.iter().map(|&c| (c, self.accounts_in(c).count())).collect()
    }
}

/// Department teams, then the fixed extra teams. Member lists come out ascending.
fn generate_teams<R: Rng + ?Sized>(rng: &mut R, tenant: &Tenant, accounts: &[KeeperAccount]) -> Vec<KeeperTeam> {
    use KeeperAccountCategory as C;

    let department_of: HashMap<Guid, usize> = tenant.employees.iter().map(|e| (e.id, e.department)).collect();
    let mut by_department: Vec<Vec<usize>> = vec![Vec::new(); tenant.departments.len()];
    for (a, account) in accounts.iter().enumerate() {
        if account.category == C::DuplicateAddress {
            continue;
        }
        if let Some(d) = account.employee.and_then(|id| department_of.get(&id)) {
            by_department[*d].push(a);
        }
    }
    let mut headcount = vec![0usize; tenant.departments.len()];
    for e in &tenant.employees {
        headcount[e.department] += 1;
    }

    let mut eligible: Vec<usize> =
        (0..tenant.departments.len()).filter(|&d| !tenant.departments[d].is_archived && headcount[d] > 0).collect();
    eligible.shuffle(rng);
    let skip_n = share(eligible.len(), 0.15).min(eligible.len().saturating_sub(1));
    let renamed_n = share(eligible.len() - skip_n, 0.25).min(eligible.len() - skip_n);
    let mut kept: Vec<(usize, bool)> =
        eligible[skip_n..].iter().enumerate().map(|(k, &d)| (d, k < renamed_n)).collect();
    kept.sort_unstable();

    let mut uids = HashSet::new();
    let mut teams = Vec::new();
    for (d, renamed) in kept {
        let dept = &tenant.departments[d];
        let members: Vec<usize> = by_department[d].iter().copied().filter(|_| rng.random_bool(0.9)).collect();
        let first = teams.is_empty();
        teams.push(KeeperTeam {
            id: team_uid(rng, &mut uids, first),
            display_name: if renamed { format!("{} Team", dept.name) } else { dept.name.clone() },
            external_id: (!renamed).then(|| Guid::random(rng).to_string()),
            members,
            department: Some(dept.id),
        });
    }

    let department_named = |name: &str| tenant.departments.iter().position(|d| d.name == name);
    let active_working = |a: &usize| {
        matches!(accounts[*a].category, C::WorkingActive | C::WorkingActiveCaseVariant | C::WorkingActiveEmailsOnly)
    };
    let mut security: Vec<usize> = ["IT", "Platform Engineering"]
        .iter()
        .filter_map(|name| department_named(name))
        .flat_map(|d| by_department[d].iter().copied().filter(active_working))
        .collect();
    if security.is_empty() {
        security = (0..accounts.len()).filter(active_working).collect();
    }
    security.shuffle(rng);
    security.truncate(4);

    let service: Vec<usize> = (0..accounts.len()).filter(|&a| accounts[a].category == C::ServiceAccount).collect();
    let mut finance: Vec<usize> = department_named("Finance").map(|d| by_department[d].clone()).unwrap_or_default();
    finance.shuffle(rng);
    finance.truncate(8);
    finance.extend(service.iter().min_by_key(|&&a| &accounts[a].user_name));

    let contractors: Vec<usize> = (0..accounts.len()).filter(|&a| accounts[a].category == C::Contractor).collect();

    for (name, mut members) in [
        ("Security Admins", security),
        ("Shared Vault – Finance", finance),
        ("Contractors", contractors),
        ("Project Atlas (archived)", Vec::new()),
    ] {
        members.sort_unstable();
        members.dedup();
        let first = teams.is_empty();
        teams.push(KeeperTeam {
            id: team_uid(rng, &mut uids, first),
            display_name: name.to_owned(),
            external_id: None,
            members,
            department: None,
        });
    }
    teams
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_variants_differ_from_the_original() {
        assert_eq!(capitalised("priya.nair2@acme.example"), "Priya.Nair2@acme.example");
        assert_eq!(case_variant("priya.nair@acme.example", 0), "Priya.Nair@acme.example");
        assert_eq!(case_variant("priya.nair@acme.example", 2), "PRIYA.NAIR@ACME.EXAMPLE");
        assert_ne!(case_variant("2@acme.example", 0), "2@acme.example");
    }

    #[test]
    fn share_is_at_least_one_and_at_most_n() {
        assert_eq!(share(0, 0.5), 0);
        assert_eq!(share(3, 0.01), 1);
        assert_eq!(share(3, 2.0), 3);
        assert_eq!(share(234, 0.03), 7);
    }
}

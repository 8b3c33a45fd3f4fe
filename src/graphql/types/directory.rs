//! Keeper's directory in the graph: accounts and teams of one node, each account joined to its Keka employee by
//! email, and the access review (offboarding drift) built on that join. See [`crate::directory_join`] for the rule.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::NaiveDate;

use super::employee::Employee;
use crate::directory_join::EmailJoin;
use crate::graphql::connection::{OffsetConnection, RelayArgs, connection_from_slice};
use crate::graphql::context::{directory, graph, joined};
use crate::graphql::error::{code, coded};
use crate::graphql::scalars::Date;
use crate::keeper::{Account, AccountStatus, Directory, Team, normalise_email};
use crate::keka::models::{self as keka, EmploymentStatus};

/// What Keeper says of an account. SCIM shows only `active`: invited and disabled accounts cannot be told apart
/// from active and locked ones through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum DirectoryAccountStatus {
    /// Not locked (`active: true`); includes invited accounts not yet set up.
    Active,
    /// Locked (`active: false`), e.g. deactivated by the identity provider.
    Locked,
    /// Keeper sent no usable `active` flag.
    Unknown,
}

impl From<AccountStatus> for DirectoryAccountStatus {
    fn from(status: AccountStatus) -> Self {
        match status {
            AccountStatus::Active => Self::Active,
            AccountStatus::Locked => Self::Locked,
            AccountStatus::Unknown => Self::Unknown,
        }
    }
}

/// A user account of the Keeper node (a SCIM User).
pub struct DirectoryAccount(pub Arc<Account>);

#[Object]
impl DirectoryAccount {
    /// Keeper's Enterprise User ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The login: an email address.
    async fn user_name(&self) -> &str {
        &self.0.user_name
    }

    /// The primary email (`userName` when Keeper lists none).
    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn display_name(&self) -> &str {
        &self.0.display_name
    }

    async fn status(&self) -> DirectoryAccountStatus {
        self.0.status.into()
    }

    /// The teams of this node the account belongs to.
    async fn teams(&self, ctx: &Context<'_>) -> Result<Vec<DirectoryTeam>> {
        let directory = directory(ctx).await?;
        Ok(directory.teams_of(&self.0).into_iter().map(DirectoryTeam).collect())
    }

    /// The Keka employee whose work email this account holds; null if none. An address shared by several accounts
    /// or employees is an error coded `AMBIGUOUS_DIRECTORY_MATCH`, never a guess.
    async fn employee(&self, ctx: &Context<'_>) -> Result<Option<Employee>> {
        let (_, _, join) = joined(ctx).await?;
        if let Some(employee) = join.employee_of(&self.0.id) {
            return Ok(Some(Employee(employee.clone())));
        }
        if join.is_ambiguous_account(&self.0.id) {
            return Err(ambiguous(&self.0.addresses.join(", ")));
        }
        Ok(None)
    }
}

/// A team of the Keeper node (a SCIM Group).
pub struct DirectoryTeam(pub Arc<Team>);

#[Object]
impl DirectoryTeam {
    /// The Team UID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The team's accounts, in Keeper's order.
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<OffsetConnection<DirectoryAccount>> {
        let args = RelayArgs::new(first, after, last, before).validate(graph(ctx).limits.max_page_size)?;
        let members = directory(ctx).await?.members_of(&self.0);
        Ok(connection_from_slice(
            &members,
            &args,
            |account| account.id.as_str(),
            |account| DirectoryAccount(account.clone()),
        ))
    }
}

fn ambiguous(address: &str) -> async_graphql::Error {
    coded(
        code::AMBIGUOUS_DIRECTORY_MATCH,
        format!(
            "`{address}` is held by more than one Keeper account or Keka employee; see `accessReview {{ ambiguousMatches }}`"
        ),
    )
}

/// An employee's account: the one account holding their work email. Reads only the directory; the org snapshot is
/// consulted (never fetched) to catch an address two employees share.
pub async fn account_of_employee(ctx: &Context<'_>, employee: &keka::Employee) -> Result<Option<DirectoryAccount>> {
    let directory = directory(ctx).await?;
    let Some(address) = employee.email.as_deref().map(normalise_email).filter(|address| !address.is_empty()) else {
        return Ok(None);
    };
    let mut accounts = directory.accounts_with_address(&address);
    if let Some(org) = graph(ctx).snapshot.peek() {
        let join = graph(ctx).joins.get(&org, &directory);
        if join.is_ambiguous_employee(&employee.id) {
            return Err(ambiguous(&address));
        }
        if let Some(account) = join.account_of(&employee.id) {
            return Ok(Some(DirectoryAccount(account.clone())));
        }
    }
    match accounts.len() {
        0 => Ok(None),
        1 => Ok(accounts.pop().map(DirectoryAccount)),
        _ => Err(ambiguous(&address)),
    }
}

/// An account by id from the directory snapshot (null if the node has none).
pub async fn find_account(ctx: &Context<'_>, id: &str) -> Result<Option<DirectoryAccount>> {
    Ok(directory(ctx).await?.account(id).cloned().map(DirectoryAccount))
}

/// The accounts of the node, optionally of one status.
pub async fn accounts_connection(
    ctx: &Context<'_>,
    args: RelayArgs,
    status: Option<DirectoryAccountStatus>,
) -> Result<OffsetConnection<DirectoryAccount>> {
    let args = args.validate(graph(ctx).limits.max_page_size)?;
    let directory = directory(ctx).await?;
    let accounts: Vec<Arc<Account>> = match status {
        None => directory.accounts().to_vec(),
        Some(status) => directory
            .accounts()
            .iter()
            .filter(|account| DirectoryAccountStatus::from(account.status) == status)
            .cloned()
            .collect(),
    };
    Ok(connection_from_slice(
        &accounts,
        &args,
        |account| account.id.as_str(),
        |account| DirectoryAccount(account.clone()),
    ))
}

/// The offboarding report of one Keeper node against Keka.
pub struct AccessReview {
    as_of: NaiveDate,
    directory: Arc<Directory>,
    join: Arc<EmailJoin>,
    employees: usize,
}

impl AccessReview {
    pub async fn build(ctx: &Context<'_>, as_of: NaiveDate) -> Result<Self> {
        let (org, directory, join) = joined(ctx).await?;
        Ok(Self { as_of, directory, join, employees: org.employees().len() })
    }
}

/// Whether someone has left by `as_of`: relieved in Keka, or past their exit date.
fn has_left(employee: &keka::Employee, as_of: NaiveDate) -> bool {
    matches!(employee.employment_status, Some(EmploymentStatus::Relieved))
        || employee.exit_date.is_some_and(|exit| exit.date() < as_of)
}

/// Someone who has left, and the Keeper account they can still open.
#[derive(SimpleObject)]
pub struct RelievedWithActiveAccount {
    pub employee: Employee,
    pub account: DirectoryAccount,
    pub exit_date: Option<Date>,
    /// Days from the exit date to `asOf`.
    pub days_since_exit: Option<i64>,
}

#[derive(SimpleObject)]
pub struct RelievedWithActiveAccountList {
    pub count: usize,
    /// Longest-gone first.
    pub items: Vec<RelievedWithActiveAccount>,
}

#[derive(SimpleObject)]
pub struct DirectoryAccountList {
    pub count: usize,
    pub items: Vec<DirectoryAccount>,
}

#[derive(SimpleObject)]
pub struct EmployeeList {
    pub count: usize,
    pub items: Vec<Employee>,
}

/// An address claimed by more than one account or more than one employee.
#[derive(SimpleObject)]
pub struct AmbiguousMatch {
    /// The address, trimmed and lower-cased.
    pub email: String,
    pub accounts: Vec<DirectoryAccount>,
    pub employees: Vec<Employee>,
}

#[derive(SimpleObject)]
pub struct AmbiguousMatchList {
    pub count: usize,
    pub items: Vec<AmbiguousMatch>,
}

#[Object]
impl AccessReview {
    /// The day the review is for: who has left is judged by this date.
    async fn as_of(&self) -> Date {
        Date(self.as_of)
    }

    /// The Keeper node reviewed. A SCIM token sees one node, not its sub-nodes: accounts in other nodes are not
    /// here, so "without account" means "without an account in this node".
    async fn node_id(&self) -> &str {
        self.directory.node_id()
    }

    /// Accounts in the node.
    async fn accounts_reviewed(&self) -> usize {
        self.directory.accounts().len()
    }

    /// Employees in Keka (working and relieved).
    async fn employees_reviewed(&self) -> usize {
        self.employees
    }

    /// People who have left but whose matched account is still active: the drift to close first.
    async fn relieved_with_active_account(&self) -> RelievedWithActiveAccountList {
        let mut items: Vec<RelievedWithActiveAccount> = self
            .join
            .matches(&self.directory)
            .filter(|(employee, account)| account.status == AccountStatus::Active && has_left(employee, self.as_of))
            .map(|(employee, account)| {
                let exit = employee.exit_date.map(|exit| exit.date());
                RelievedWithActiveAccount {
                    employee: Employee(employee.clone()),
                    account: DirectoryAccount(account.clone()),
                    exit_date: exit.map(Date),
                    days_since_exit: exit.map(|exit| (self.as_of - exit).num_days()),
                }
            })
            .collect();
        items.sort_by_key(|item| std::cmp::Reverse(item.days_since_exit));
        RelievedWithActiveAccountList { count: items.len(), items }
    }

    /// Accounts that belong to no Keka employee (contractors, service accounts, or people Keka never had).
    async fn accounts_without_employee(&self, status: Option<DirectoryAccountStatus>) -> DirectoryAccountList {
        let items: Vec<DirectoryAccount> = self
            .join
            .accounts_without_employee
            .iter()
            .filter(|account| status.is_none_or(|status| DirectoryAccountStatus::from(account.status) == status))
            .map(|account| DirectoryAccount(account.clone()))
            .collect();
        DirectoryAccountList { count: items.len(), items }
    }

    /// People still working (as of `asOf`) whose work email no account of this node holds.
    async fn working_employees_without_account(&self) -> EmployeeList {
        let items: Vec<Employee> = self
            .join
            .employees_without_account
            .iter()
            .filter(|employee| !has_left(employee, self.as_of))
            .map(|employee| Employee(employee.clone()))
            .collect();
        EmployeeList { count: items.len(), items }
    }

    /// Addresses held by several accounts, or by several employees: reported, never guessed.
    async fn ambiguous_matches(&self) -> AmbiguousMatchList {
        let items: Vec<AmbiguousMatch> = self
            .join
            .ambiguities
            .iter()
            .map(|ambiguity| AmbiguousMatch {
                email: ambiguity.address.clone(),
                accounts: ambiguity.accounts.iter().cloned().map(DirectoryAccount).collect(),
                employees: ambiguity.employees.iter().cloned().map(Employee).collect(),
            })
            .collect();
        AmbiguousMatchList { count: items.len(), items }
    }
}

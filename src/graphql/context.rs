//! What resolvers share: the long-lived Keka access (schema data) and the per-request loaders.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::Context;
use async_graphql::dataloader::DataLoader;
use chrono::NaiveDate;

use super::loaders::{
    AttendanceLoader, EmployeeByEmailLoader, EmployeeLoader, EmployeeRecordLoader, LeaveBalanceLoader, TimeoffLoader,
};
use crate::directory_join::{EmailJoin, JoinCache};
use crate::keeper::{Directory, DirectorySource};
use crate::keka::{CachedKeka, OrgSnapshot, SnapshotSource};

/// Limits on what one request may ask for.
#[derive(Debug, Clone, Copy)]
pub struct GraphLimits {
    /// Largest `first`/`last` accepted on a connection; also the size when neither is given.
    pub max_page_size: usize,
    /// Deepest selection nesting (GraphiQL's introspection query needs 13; the gateway's `_entities` about 6).
    pub max_depth: usize,
    /// Most fields in one document, each counted once (fragments expanded).
    pub max_complexity: usize,
    /// Most aliased fields in one document: aliases are how one request asks for the same thing many times.
    pub max_aliases: usize,
    /// Most directives in one document (`@include`/`@skip` floods).
    pub max_directives: usize,
    /// Most lexical tokens in one document, counted before it is parsed.
    pub max_tokens: usize,
    /// Most `_entities` representations in one request.
    pub max_representations: usize,
    /// Whether `__schema` / `__type` are answered (switch off in production if the schema is private).
    pub introspection: bool,
}

impl Default for GraphLimits {
    fn default() -> Self {
        Self {
            max_page_size: 100,
            max_depth: 15,
            max_complexity: 1000,
            max_aliases: 30,
            max_directives: 50,
            max_tokens: 5000,
            max_representations: 1000,
            introspection: true,
        }
    }
}

/// Which day is "today" for derived fields (in probation, in notice period, default date windows).
#[derive(Debug, Clone, Copy, Default)]
pub enum Today {
    /// The server's UTC date.
    #[default]
    System,
    /// A fixed date: tests and demos against a sandbox generated for that day.
    Fixed(NaiveDate),
}

impl Today {
    pub fn date(self) -> NaiveDate {
        match self {
            Self::System => chrono::Utc::now().date_naive(),
            Self::Fixed(date) => date,
        }
    }
}

/// Long-lived state, one per process, held as schema data.
#[derive(Debug, Clone)]
pub struct GraphContext {
    pub keka: CachedKeka,
    pub snapshot: Arc<SnapshotSource>,
    /// Keeper's directory; `None` when no Keeper node is configured.
    pub directory: Option<Arc<DirectorySource>>,
    /// Employees joined to accounts, rebuilt when either snapshot changes.
    pub joins: Arc<JoinCache>,
    pub limits: GraphLimits,
    pub today: Today,
    /// What mutations need: idempotency keys, the leave sync, who may write.
    pub writes: super::mutation::Writes,
}

/// DataLoaders of one request. Per request so their batches and caches never mix users.
pub struct RequestLoaders {
    pub employees: DataLoader<EmployeeLoader>,
    pub employees_by_email: DataLoader<EmployeeByEmailLoader>,
    pub employee_records: DataLoader<EmployeeRecordLoader>,
    pub timeoff: DataLoader<TimeoffLoader>,
    pub attendance: DataLoader<AttendanceLoader>,
    pub balances: DataLoader<LeaveBalanceLoader>,
    /// Small lists fetched once per request.
    pub(crate) lists: super::lists::RequestLists,
}

impl RequestLoaders {
    /// `spawn` runs each batch; the server passes one that keeps the request's context (deadline, Keka counts).
    pub fn new<S>(keka: &CachedKeka, snapshot: &Arc<SnapshotSource>, spawn: S) -> Self
    where
        S: Fn(futures::future::BoxFuture<'static, ()>) + Send + Sync + Clone + 'static,
    {
        // A batch leaves when it holds one Keka request's worth of ids, or once the request is
        // idle (see `BatchGate`) and BATCH_DELAY has passed. Cached records never wait (see `Employee::load`).
        let ids_per_request = keka.client().config().ids_per_request.max(1);
        Self {
            employees: DataLoader::new(EmployeeLoader::new(keka.clone(), snapshot.clone()), spawn.clone())
                .delay(BATCH_DELAY)
                .max_batch_size(ids_per_request),
            employees_by_email: DataLoader::new(
                EmployeeByEmailLoader::new(keka.clone(), snapshot.clone()),
                spawn.clone(),
            )
            .delay(BATCH_DELAY)
            .max_batch_size(usize::MAX),
            employee_records: DataLoader::new(EmployeeRecordLoader::new(keka.clone()), spawn.clone())
                .delay(BATCH_DELAY)
                .max_batch_size(ids_per_request),
            timeoff: DataLoader::new(TimeoffLoader::new(keka.clone()), spawn.clone())
                .delay(BATCH_DELAY)
                .max_batch_size(ids_per_request),
            attendance: DataLoader::new(AttendanceLoader::new(keka.clone()), spawn.clone())
                .delay(BATCH_DELAY)
                .max_batch_size(ids_per_request),
            balances: DataLoader::new(LeaveBalanceLoader::new(keka.clone()), spawn)
                .delay(BATCH_DELAY)
                .max_batch_size(ids_per_request),
            lists: super::lists::RequestLists::default(),
        }
    }
}

/// How long a DataLoader collects keys before it calls Keka.
const BATCH_DELAY: Duration = Duration::from_millis(1);

pub(crate) fn graph<'a>(ctx: &Context<'a>) -> &'a GraphContext {
    ctx.data_unchecked::<GraphContext>()
}

pub(crate) fn loaders<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a RequestLoaders> {
    ctx.data::<RequestLoaders>()
}

pub(crate) async fn snapshot(ctx: &Context<'_>) -> async_graphql::Result<Arc<OrgSnapshot>> {
    graph(ctx).snapshot.get().await.map_err(super::error::graphql_error)
}

/// The Keeper directory snapshot, or `DIRECTORY_NOT_CONFIGURED`.
pub(crate) async fn directory(ctx: &Context<'_>) -> async_graphql::Result<Arc<Directory>> {
    let source = graph(ctx).directory.as_ref().ok_or_else(super::error::directory_not_configured)?;
    source.get().await.map_err(|error| super::error::from_keeper(&error))
}

/// Both snapshots and their join (costs one org walk and one directory walk when cold).
pub(crate) async fn joined(
    ctx: &Context<'_>,
) -> async_graphql::Result<(Arc<OrgSnapshot>, Arc<Directory>, Arc<EmailJoin>)> {
    let (org, directory) = futures::try_join!(snapshot(ctx), directory(ctx))?;
    let join = graph(ctx).joins.get(&org, &directory);
    Ok((org, directory, join))
}

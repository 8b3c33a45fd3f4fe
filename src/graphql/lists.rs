//! Keka's small lists (groups, group types, locations, leave types), indexed by id and fetched
//! from the cache at most once per request: an org-chart page looks groups up hundreds of times.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use async_graphql::{Context, ContextBase, Result};
use tokio::sync::OnceCell;

use super::context::{RequestLoaders, graph, loaders};
use super::error::graphql_error;
use crate::keka::KekaError;
use crate::keka::models::{Group, GroupFilter, GroupType, LeaveType, Location};

/// A list with an index by id.
pub(crate) struct Indexed<T> {
    items: Vec<Arc<T>>,
    // Ids are Keka's, not a caller's choice, and a page looks up hundreds: a fast hash rather than SipHash.
    positions: HashMap<String, usize, foldhash::fast::RandomState>,
}

impl<T> Indexed<T> {
    fn new(items: &[T], id: impl Fn(&T) -> &str) -> Self
    where
        T: Clone,
    {
        let items: Vec<Arc<T>> = items.iter().cloned().map(Arc::new).collect();
        let positions = items.iter().enumerate().map(|(position, item)| (id(item).to_owned(), position)).collect();
        Self { items, positions }
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Arc<T>> {
        self.positions.get(id).map(|position| &self.items[*position])
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<T>> {
        self.items.iter()
    }
}

type Memo<T> = OnceCell<Result<Arc<Indexed<T>>, KekaError>>;

/// Per-request memo of the indexed lists. A failure is kept too: the hundred fields of a page that need the list
/// share one failed fetch instead of each trying Keka again, one after another.
#[derive(Default)]
pub(crate) struct RequestLists {
    groups: Memo<Group>,
    group_types: Memo<GroupType>,
    locations: Memo<Location>,
    leave_types: Memo<LeaveType>,
}

async fn memo<T, F, Fut>(
    ctx: &Context<'_>,
    cell: impl Fn(&RequestLists) -> &Memo<T>,
    fetch: F,
) -> Result<Arc<Indexed<T>>>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Arc<Indexed<T>>, KekaError>>,
{
    // The fetch runs once per request at most, but its future (the whole Keka call) is large: boxed, it stops
    // inflating the future of every resolver that reads a list, which async-graphql moves into a box per field.
    match loaders(ctx) {
        Ok(request) => cell(&request.lists).get_or_init(|| Box::pin(fetch())).await.clone().map_err(graphql_error),
        // Executed outside the server (no request data): fetch every time.
        Err(_) => Box::pin(fetch()).await.map_err(graphql_error),
    }
}

pub(crate) async fn groups(ctx: &Context<'_>) -> Result<Arc<Indexed<Group>>> {
    memo(
        ctx,
        |lists| &lists.groups,
        || async {
            let groups = graph(ctx).keka.groups(&GroupFilter::default()).await?;
            Ok(Arc::new(Indexed::new(&groups, |group| &group.id)))
        },
    )
    .await
}

pub(crate) async fn group_types(ctx: &Context<'_>) -> Result<Arc<Indexed<GroupType>>> {
    memo(
        ctx,
        |lists| &lists.group_types,
        || async {
            let types = graph(ctx).keka.group_types().await?;
            Ok(Arc::new(Indexed::new(&types, |group_type| &group_type.id)))
        },
    )
    .await
}

/// The request's group types if they have been fetched already, without waiting (see `plain`).
pub(crate) fn peek_group_types<'a, T>(ctx: &ContextBase<'a, T>) -> Option<&'a Indexed<GroupType>> {
    ctx.data_opt::<RequestLoaders>()?.lists.group_types.get()?.as_deref().ok()
}

pub(crate) async fn locations(ctx: &Context<'_>) -> Result<Arc<Indexed<Location>>> {
    memo(
        ctx,
        |lists| &lists.locations,
        || async {
            let locations = graph(ctx).keka.locations().await?;
            Ok(Arc::new(Indexed::new(&locations, |location| &location.id)))
        },
    )
    .await
}

pub(crate) async fn leave_types(ctx: &Context<'_>) -> Result<Arc<Indexed<LeaveType>>> {
    memo(
        ctx,
        |lists| &lists.leave_types,
        || async {
            let types = graph(ctx).keka.leave_types().await?;
            Ok(Arc::new(Indexed::new(&types, |leave_type| &leave_type.identifier)))
        },
    )
    .await
}

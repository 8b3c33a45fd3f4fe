//! A fast path for objects whose fields are mostly known at once.
//!
//! async-graphql resolves every object the same way: a boxed future per selected field, polled
//! together in a `FuturesUnordered`, gathered into an `IndexMap`. For the objects an org graph
//! repeats hundreds of times per answer (people, their groups and group types, a manager's name)
//! that machinery costs far more than the fields. `Plain<T>` answers the fields `T` knows now
//! straight from its data; the others (a manager to look up, a connection) still go through `T`'s
//! own resolvers, all polled together from one allocation. The answer is the one async-graphql
//! gives, except that keys always follow the selection's order (async-graphql inserts them in the
//! order the fields finish). It registers as `T` itself, so the schema does not see it.
//!
//! It walks the selection the way async-graphql's own `Fields::add_set` does (fields, fragment
//! spreads, inline fragments with their type conditions), through the same context hooks the
//! derive macros use. `@skip`/`@include` are already gone by then (async-graphql removes them
//! before execution); any other directive on a field sends the object down the normal path.
//! Fields answered here skip async-graphql's per-field extension hooks, so the schema registers
//! no extension (see `schema_builder`).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection};
use async_graphql::registry::Registry;
use async_graphql::{ContainerType, ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value};

/// An object some of whose fields can be answered without waiting. Implemented through [`plain_fields!`], so the
/// names it answers are one list.
pub(crate) trait PlainObject: ContainerType + Sized {
    /// The fields `plain_field` answers. A field answered here skips its resolver, and with it any guard
    /// (`RequireScope`), argument or directive; `tests::every_plain_field_is_a_bare_field_of_its_type` and
    /// `graphql_api::every_field_of_a_fast_path_type_answers_a_caller_without_scopes_as_async_graphql_does`
    /// keep such fields out. Only they read it: `plain_fields!` makes `plain_field` match exactly these names.
    #[cfg(test)]
    const PLAIN_FIELDS: &'static [&'static str];

    /// The value of `field` (one of `PLAIN_FIELDS`) if it is known now; `None` leaves the field to `T`'s
    /// resolver. `ctx` is the object's selection set.
    fn plain_field(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> Option<Value>;
}

/// Writes `PLAIN_FIELDS` and `plain_field` of a [`PlainObject`] impl from one table of names and values, so
/// a name cannot be answered without being listed for the fence tests.
macro_rules! plain_fields {
    (fn plain_field(&$this:ident, $ctx:ident, $field:ident) { $($name:literal => $value:expr),+ $(,)? }) => {
        #[cfg(test)]
        const PLAIN_FIELDS: &'static [&'static str] = &[$($name),+];

        fn plain_field(
            &$this,
            $ctx: &async_graphql::ContextSelectionSet<'_>,
            $field: &async_graphql::Positioned<async_graphql::parser::types::Field>,
        ) -> Option<async_graphql::Value> {
            Some(match $field.node.name.node.as_str() {
                $($name => $value,)+
                _ => return None,
            })
        }
    };
}
pub(crate) use plain_fields;

/// Resolves as `T` does, through the fast path when it can.
pub(crate) struct Plain<T>(pub T);

impl<T: PlainObject> OutputType for Plain<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        let mut slots = Vec::new();
        if collect(ctx, &self.0, &mut slots).is_none() {
            // Boxed, the normal path's large future stays out of lists of objects that never need it.
            return Box::pin(self.0.resolve(ctx, field)).await;
        }
        if slots.iter().all(|slot| matches!(slot, Slot::Ready(..))) {
            return Ok(object_of(slots, Vec::new(), ctx));
        }
        resolve_pending_boxed(ctx, &self.0, slots).await
    }
}

/// Boxed and type-erased: the fields' futures may hold this same type again (a manager's manager), which
/// only a `dyn` future can contain; one box for the object replaces async-graphql's box per field.
fn resolve_pending_boxed<'a, T: PlainObject>(
    ctx: &'a ContextSelectionSet<'a>,
    root: &'a T,
    slots: Vec<Slot<'a>>,
) -> Pin<Box<dyn Future<Output = ServerResult<Value>> + Send + 'a>> {
    Box::pin(resolve_pending(ctx, root, slots))
}

/// Resolves the pending fields together and answers the object.
async fn resolve_pending<T: PlainObject>(
    ctx: &ContextSelectionSet<'_>,
    root: &T,
    slots: Vec<Slot<'_>>,
) -> ServerResult<Value> {
    let pending: Vec<_> = slots
        .iter()
        .filter_map(|slot| match slot {
            Slot::Pending(_, field) => Some(ctx.with_field(field)),
            Slot::Ready(..) => None,
        })
        .collect();
    // One future type for every field of `T`: a single allocation holds them all.
    let resolved = futures::future::join_all(pending.iter().map(|field_ctx| root.resolve_field(field_ctx))).await;
    Ok(object_of(slots, resolved, ctx))
}

/// The object from its slots, pending ones taking the resolved values in order.
fn object_of(slots: Vec<Slot<'_>>, resolved: Vec<ServerResult<Option<Value>>>, ctx: &ContextSelectionSet<'_>) -> Value {
    let mut resolved = resolved.into_iter();
    let mut object = IndexMap::with_capacity(slots.len());
    for slot in slots {
        match slot {
            Slot::Ready(key, value) => {
                object.insert(key, value);
            }
            // As async-graphql does: a failed field is reported and left out.
            Slot::Pending(key, _) => match resolved.next() {
                Some(Ok(value)) => {
                    object.insert(key, value.unwrap_or_default());
                }
                Some(Err(error)) => ctx.add_error(error),
                None => {}
            },
        }
    }
    if object.is_empty() { Value::Null } else { Value::Object(object) }
}

/// One selected field: its value, or the field to resolve.
enum Slot<'a> {
    Ready(Name, Value),
    Pending(Name, &'a Positioned<Field>),
}

/// The object's answer if every selected field is known now, else `None`.
pub(crate) fn resolve_plain<T: PlainObject>(ctx: &ContextSelectionSet<'_>, root: &T) -> Option<Value> {
    let mut slots = Vec::new();
    collect(ctx, root, &mut slots)?;
    let mut object = IndexMap::with_capacity(slots.len());
    for slot in slots {
        match slot {
            Slot::Ready(key, value) => object.insert(key, value),
            Slot::Pending(..) => return None,
        };
    }
    // async-graphql answers an object with no field as null; leave that rare case to it.
    (!object.is_empty()).then_some(Value::Object(object))
}

/// A nested object known now (or null) for `field` of the object whose selection set is `ctx`.
pub(crate) fn nested<T: PlainObject>(
    ctx: &ContextSelectionSet<'_>,
    field: &Positioned<Field>,
    value: Option<&T>,
) -> Option<Value> {
    let Some(value) = value else { return Some(Value::Null) };
    let field_ctx = ctx.with_field(field);
    resolve_plain(&field_ctx.with_selection_set(&field.node.selection_set), value)
}

/// The selection's fields in order; `None` when something needs async-graphql's own path: a
/// directive on a field, or one response key selected twice (which it merges).
fn collect<'a, T: PlainObject>(ctx: &ContextSelectionSet<'a>, root: &T, slots: &mut Vec<Slot<'a>>) -> Option<()> {
    for selection in &ctx.item.node.items {
        match &selection.node {
            Selection::Field(field) => {
                if !field.node.directives.is_empty() {
                    return None;
                }
                let key = &field.node.response_key().node;
                let taken = slots.iter().any(|slot| match slot {
                    Slot::Ready(taken, _) | Slot::Pending(taken, _) => taken == key,
                });
                if taken {
                    return None;
                }
                let slot = if field.node.name.node == "__typename" {
                    Slot::Ready(key.clone(), Value::String(root.introspection_type_name().into_owned()))
                } else {
                    match root.plain_field(ctx, field) {
                        Some(value) => Slot::Ready(key.clone(), value),
                        None => Slot::Pending(key.clone(), field),
                    }
                };
                slots.push(slot);
            }
            Selection::FragmentSpread(spread) => {
                let fragment = ctx.query_env.fragments.get(&spread.node.fragment_name.node)?;
                if applies(ctx, root, Some(fragment.node.type_condition.node.on.node.as_str())) {
                    collect(&ctx.with_selection_set(&fragment.node.selection_set), root, slots)?;
                }
            }
            Selection::InlineFragment(fragment) => {
                let condition = fragment.node.type_condition.as_ref().map(|condition| condition.node.on.node.as_str());
                if applies(ctx, root, condition) {
                    collect(&ctx.with_selection_set(&fragment.node.selection_set), root, slots)?;
                }
            }
        }
    }
    Some(())
}

/// Whether a fragment with this type condition applies to `root` (as async-graphql decides it).
fn applies<T: PlainObject>(ctx: &ContextSelectionSet<'_>, root: &T, condition: Option<&str>) -> bool {
    let Some(condition) = condition else { return true };
    let name = root.introspection_type_name();
    name == condition
        || T::type_name() == condition
        || ctx
            .schema_env
            .registry
            .implements
            .get(name.as_ref())
            .is_some_and(|interfaces| interfaces.contains(condition))
}

/// A string field's value.
pub(crate) fn text(value: Option<&str>) -> Value {
    value.map_or(Value::Null, |text| Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_schema;
    use async_graphql::parser::types::{FieldDefinition, ServiceDocument, TypeKind, TypeSystemDefinition};

    use super::PlainObject;
    use crate::graphql::AccessDirectives;
    use crate::graphql::types::employee::Employee;
    use crate::graphql::types::org::{Group, GroupType};

    /// The fields `type_name` has in `document`, empty if no object type has that name.
    fn fields_of<'a>(document: &'a ServiceDocument, type_name: &str) -> Vec<&'a FieldDefinition> {
        document
            .definitions
            .iter()
            .filter_map(|definition| match definition {
                TypeSystemDefinition::Type(definition) if definition.node.name.node == type_name => {
                    Some(&definition.node.kind)
                }
                _ => None,
            })
            .flat_map(|kind| match kind {
                TypeKind::Object(object) => object.fields.iter().map(|field| &field.node).collect(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// What keeps each of `T`'s plain fields from being answered past its resolver.
    fn fence<T: PlainObject>(document: &ServiceDocument) -> Vec<String> {
        let type_name = T::type_name();
        let fields = fields_of(document, &type_name);
        T::PLAIN_FIELDS
            .iter()
            .filter_map(|name| {
                let Some(field) = fields.iter().find(|field| field.name.node == *name) else {
                    return Some(format!("{type_name}.{name}: no such field"));
                };
                let arguments: Vec<&str> =
                    field.arguments.iter().map(|argument| argument.node.name.node.as_str()).collect();
                let directives: Vec<&str> =
                    field.directives.iter().map(|directive| directive.node.name.node.as_str()).collect();
                (!arguments.is_empty() || !directives.is_empty())
                    .then(|| format!("{type_name}.{name}: arguments {arguments:?}, directives {directives:?}"))
            })
            .collect()
    }

    /// Every name a `plain` table answers is a field of its type in the published schema (every access-control
    /// marker kept), with no argument and no directive. Guards do not show in a schema: the differential test
    /// `graphql_api::every_field_of_a_fast_path_type_answers_a_caller_without_scopes_as_async_graphql_does`
    /// catches those.
    #[test]
    fn every_plain_field_is_a_bare_field_of_its_type() {
        let document = parse_schema(crate::graphql::schema_sdl(AccessDirectives::RequiresScopes)).unwrap();
        assert!(!fields_of(&document, "Employee").is_empty(), "the fence cannot read the schema");

        let mut problems = fence::<Employee>(&document);
        problems.extend(fence::<Group>(&document));
        problems.extend(fence::<GroupType>(&document));

        assert!(problems.is_empty(), "graphql::plain would answer these past their resolvers: {problems:#?}");
    }
}

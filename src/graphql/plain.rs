//! A fast path for objects whose selected fields can all be answered at once.
//!
//! async-graphql resolves every object the same way: a boxed future per selected field, polled
//! together in a `FuturesUnordered`, gathered into an `IndexMap`. For the small objects an org
//! graph repeats hundreds of times per answer (a person's groups and their types, a manager's
//! name) that machinery costs far more than the fields. `Plain<T>` answers such an object
//! directly from its data when every selected field allows it, and otherwise hands the whole
//! object to async-graphql unchanged, so the fast path never changes an answer: it only skips
//! work. It registers as `T` itself, so the schema does not see it.
//!
//! It walks the selection the way async-graphql's own `Fields::add_set` does (fields, fragment
//! spreads, inline fragments with their type conditions), through the same context hooks the
//! derive macros use. `@skip`/`@include` are already gone by then (async-graphql removes them
//! before execution); any other directive on a field sends the object down the normal path.

use std::borrow::Cow;

use async_graphql::parser::types::{Field, Selection};
use async_graphql::registry::Registry;
use async_graphql::{ContainerType, ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value};

/// An object some of whose fields can be answered without waiting.
pub(crate) trait PlainObject: ContainerType + Sized {
    /// The value of `field` (an argument-free, unguarded field) if it is known now; `None` sends
    /// the whole object down async-graphql's normal path. `ctx` is the object's selection set.
    fn plain_field(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> Option<Value>;
}

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
        match resolve_plain(ctx, &self.0) {
            Some(value) => Ok(value),
            None => self.0.resolve(ctx, field).await,
        }
    }
}

/// The object's answer if every selected field is plain, else `None`.
pub(crate) fn resolve_plain<T: PlainObject>(ctx: &ContextSelectionSet<'_>, root: &T) -> Option<Value> {
    let mut object = async_graphql::indexmap::IndexMap::new();
    collect(ctx, root, &mut object)?;
    // async-graphql answers an object with no field as null; leave that rare case to it.
    (!object.is_empty()).then_some(Value::Object(object))
}

/// A nested plain object (or null) for `field` of the object whose selection set is `ctx`.
pub(crate) fn nested<T: PlainObject>(
    ctx: &ContextSelectionSet<'_>,
    field: &Positioned<Field>,
    value: Option<&T>,
) -> Option<Value> {
    let Some(value) = value else { return Some(Value::Null) };
    let field_ctx = ctx.with_field(field);
    resolve_plain(&field_ctx.with_selection_set(&field.node.selection_set), value)
}

fn collect<T: PlainObject>(
    ctx: &ContextSelectionSet<'_>,
    root: &T,
    object: &mut async_graphql::indexmap::IndexMap<Name, Value>,
) -> Option<()> {
    for selection in &ctx.item.node.items {
        match &selection.node {
            Selection::Field(field) => {
                if !field.node.directives.is_empty() {
                    return None;
                }
                let key = field.node.response_key().node.clone();
                // The same key twice needs async-graphql's merging of the two selections.
                if object.contains_key(&key) {
                    return None;
                }
                let value = if field.node.name.node == "__typename" {
                    Value::String(root.introspection_type_name().into_owned())
                } else {
                    root.plain_field(ctx, field)?
                };
                object.insert(key, value);
            }
            Selection::FragmentSpread(spread) => {
                let fragment = ctx.query_env.fragments.get(&spread.node.fragment_name.node)?;
                if applies(ctx, root, Some(fragment.node.type_condition.node.on.node.as_str())) {
                    collect(&ctx.with_selection_set(&fragment.node.selection_set), root, object)?;
                }
            }
            Selection::InlineFragment(fragment) => {
                let condition = fragment.node.type_condition.as_ref().map(|condition| condition.node.on.node.as_str());
                if applies(ctx, root, condition) {
                    collect(&ctx.with_selection_set(&fragment.node.selection_set), root, object)?;
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

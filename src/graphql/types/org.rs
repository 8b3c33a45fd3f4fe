//! The organisation's structure: `Group`, `GroupType`, `Office`, and the lookups that link
//! employees to them. All come from Keka's small lists, loaded whole and cached.

use std::sync::Arc;

use async_graphql::{Context, ContextSelectionSet, ID, InputType, Json, Object, Result, SimpleObject, Value};

use super::employee::{Employee, people_connection};
use super::enums::GroupKind;
use crate::graphql::connection::{OffsetConnection, RelayArgs};
use crate::graphql::context::{graph, snapshot};
use crate::graphql::lists;
use crate::graphql::plain::{Plain, PlainObject, nested, plain_fields, text};
use crate::keka::models::{self as keka, SystemGroupType};

/// A postal address.
#[derive(Debug, Clone, SimpleObject)]
pub struct Address {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    /// Postal or ZIP code.
    pub postal_code: Option<String>,
    /// ISO country code, e.g. `IN`.
    pub country_code: Option<String>,
}

impl From<keka::Address> for Address {
    fn from(address: keka::Address) -> Self {
        Self {
            line1: address.address_line1,
            line2: address.address_line2,
            city: address.city,
            state: address.state,
            postal_code: address.zip,
            country_code: address.country_code,
        }
    }
}

pub(crate) async fn find_group(ctx: &Context<'_>, id: &str) -> Result<Option<Group>> {
    Ok(lists::groups(ctx).await?.get(id).map(|group| Group::new(group.clone(), None)))
}

/// Groups of a kind (all groups when `kind` is `None`).
pub(crate) async fn groups_of_kind(ctx: &Context<'_>, kind: Option<GroupKind>) -> Result<Vec<Group>> {
    let groups = lists::groups(ctx).await?;
    let types = lists::group_types(ctx).await?;
    Ok(groups
        .iter()
        .filter_map(|group| {
            let group_type = group.group_type_id.as_deref().and_then(|id| types.get(id));
            let group_kind = group_type
                .map(|group_type| GroupKind::from_keka(group_type.system_group_type, group_type.is_system_defined));
            (kind.is_none() || group_kind == kind).then(|| Group::new(group.clone(), group_kind))
        })
        .collect())
}

/// The office an employee's location group stands for. Keka's `/hris/locations` ids are
/// assumed to equal the location groups' ids; when they do not, the names are matched.
pub(crate) async fn office_of(ctx: &Context<'_>, membership: &keka::EmployeeGroup) -> Result<Option<Office>> {
    let locations = lists::locations(ctx).await?;
    let by_id = locations.get(&membership.id);
    let by_name = || locations.iter().find(|location| location.name.is_some() && location.name == membership.title);
    Ok(by_id.or_else(by_name).map(|location| Office(location.clone())))
}

/// A group of people: a department, business unit, office location, cost centre, team or custom group.
#[derive(Clone)]
pub struct Group {
    model: Arc<keka::Group>,
    /// Known when the group type was already looked up.
    kind: Option<GroupKind>,
}

impl Group {
    pub fn new(model: Arc<keka::Group>, kind: Option<GroupKind>) -> Self {
        Self { model, kind }
    }

    /// A group known only from an employee's membership (not in Keka's group list).
    pub fn from_membership(membership: &keka::EmployeeGroup) -> Self {
        let model = keka::Group {
            id: membership.id.clone(),
            name: membership.title.clone(),
            code: None,
            description: None,
            group_type_id: None,
            gl_code: None,
            raw: keka::RawRecord::default(),
        };
        Self { model: Arc::new(model), kind: Some(GroupKind::from_keka(membership.group_type, None)) }
    }

    pub fn kind_hint(&self) -> Option<GroupKind> {
        self.kind
    }

    pub fn key(&self) -> &str {
        &self.model.id
    }

    /// Case-insensitive name match (other Keka modules refer to groups by name).
    pub fn name_is(&self, name: &str) -> bool {
        self.model.name.as_deref().is_some_and(|own| own.trim().eq_ignore_ascii_case(name.trim()))
    }

    async fn group_type(&self, ctx: &Context<'_>) -> Result<Option<GroupType>> {
        let Some(type_id) = &self.model.group_type_id else { return Ok(None) };
        Ok(lists::group_types(ctx).await?.get(type_id).cloned().map(GroupType))
    }

    /// The group's type as far as it is known without waiting: `Some(None)` for a group with no type,
    /// `None` while the request has not fetched the types.
    fn peek_group_type(&self, ctx: &ContextSelectionSet<'_>) -> Option<Option<GroupType>> {
        let Some(type_id) = self.model.group_type_id.as_deref() else { return Some(None) };
        Some(lists::peek_group_types(ctx)?.get(type_id).cloned().map(GroupType))
    }
}

impl PlainObject for Group {
    plain_fields! {
        fn plain_field(&self, ctx, field) {
            "id" => Value::String(self.model.id.clone()),
            "name" => text(self.model.name.as_deref()),
            "code" => text(self.model.code.as_deref()),
            "description" => text(self.model.description.as_deref()),
            "glCode" => text(self.model.gl_code.as_deref()),
            "type" => return nested(ctx, field, self.peek_group_type(ctx)?.as_ref()),
            "kind" => match self.kind {
                Some(kind) => kind.to_value(),
                None => self
                    .peek_group_type(ctx)?
                    .map_or(GroupKind::Unknown, |group_type| group_type.group_kind())
                    .to_value(),
            },
        }
    }
}

/// A group of people.
#[Object]
impl Group {
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }

    async fn name(&self) -> Option<&str> {
        self.model.name.as_deref()
    }

    /// The short code admins gave the group.
    async fn code(&self) -> Option<&str> {
        self.model.code.as_deref()
    }

    async fn description(&self) -> Option<&str> {
        self.model.description.as_deref()
    }

    /// General-ledger code, for finance exports.
    async fn gl_code(&self) -> Option<&str> {
        self.model.gl_code.as_deref()
    }

    /// The group's type (e.g. "Department").
    #[graphql(name = "type")]
    async fn type_(&self, ctx: &Context<'_>) -> Result<Option<Plain<GroupType>>> {
        Ok(self.group_type(ctx).await?.map(Plain))
    }

    /// The kind of group, from its type.
    async fn kind(&self, ctx: &Context<'_>) -> Result<GroupKind> {
        if let Some(kind) = self.kind {
            return Ok(kind);
        }
        Ok(self.group_type(ctx).await?.map_or(GroupKind::Unknown, |group_type| group_type.group_kind()))
    }

    /// The people in the group, in Keka's order. Leavers are left out unless `includeRelieved`.
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default = false)] include_relieved: bool,
    ) -> Result<OffsetConnection<Plain<Employee>>> {
        let args = RelayArgs::new(first, after, last, before).validate(graph(ctx).limits.max_page_size)?;
        Ok(people_connection(snapshot(ctx).await?.group_members(&self.model.id), include_relieved, &args))
    }

    /// The record as Keka sent it, for fields this schema does not name yet.
    async fn raw(&self) -> Option<Json<serde_json::Value>> {
        self.model.raw.json().map(Json)
    }
}

/// A kind of group, as configured in Keka (system types such as Department, or custom ones).
#[derive(Clone)]
pub struct GroupType(pub Arc<keka::GroupType>);

impl GroupType {
    fn group_kind(&self) -> GroupKind {
        GroupKind::from_keka(self.0.system_group_type, self.0.is_system_defined)
    }
}

impl PlainObject for GroupType {
    plain_fields! {
        fn plain_field(&self, _ctx, field) {
            "id" => Value::String(self.0.id.clone()),
            "name" => text(self.0.name.as_deref()),
            "kind" => self.group_kind().to_value(),
            "systemGroupTypeCode" => self.0.system_group_type.map_or(Value::Null, |code| Value::from(code.code())),
            "isSystemDefined" => self.0.is_system_defined.map_or(Value::Null, Value::Boolean),
        }
    }
}

#[Object]
impl GroupType {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    /// Which of Keka's system group types this is, or `CUSTOM`.
    async fn kind(&self) -> GroupKind {
        self.group_kind()
    }

    /// Keka's raw `systemGroupType` number, for values this schema does not name yet.
    async fn system_group_type_code(&self) -> Option<i64> {
        self.0.system_group_type.map(SystemGroupType::code)
    }

    /// True for Keka's built-in types, false for types an admin created.
    async fn is_system_defined(&self) -> Option<bool> {
        self.0.is_system_defined
    }

    /// The groups of this type.
    async fn groups(&self, ctx: &Context<'_>) -> Result<Vec<Group>> {
        let kind = GroupKind::from_keka(self.0.system_group_type, self.0.is_system_defined);
        Ok(lists::groups(ctx)
            .await?
            .iter()
            .filter(|group| group.group_type_id.as_ref() == Some(&self.0.id))
            .map(|group| Group::new(group.clone(), Some(kind)))
            .collect())
    }
}

/// An office or site (Keka's location).
#[derive(Clone)]
pub struct Office(pub Arc<keka::Location>);

impl Office {
    /// The location group standing for this office: same id, or failing that the same name.
    pub(crate) async fn group_id(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let groups = groups_of_kind(ctx, Some(GroupKind::Location)).await?;
        let by_id = groups.iter().find(|group| group.key() == self.0.id);
        let by_name = || groups.iter().find(|group| group.model.name.is_some() && group.model.name == self.0.name);
        Ok(by_id.or_else(by_name).map(|group| group.key().to_owned()))
    }
}

#[Object]
impl Office {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Street address of the office.
    async fn address(&self) -> Option<Address> {
        self.0.address.clone().map(Address::from)
    }

    async fn city(&self) -> Option<&str> {
        self.0.address.as_ref().and_then(|address| address.city.as_deref())
    }

    /// ISO country code, e.g. `IN`.
    async fn country_code(&self) -> Option<&str> {
        self.0.address.as_ref().and_then(|address| address.country_code.as_deref())
    }

    /// The people who work from this office, in Keka's order. Leavers are left out unless `includeRelieved`.
    async fn employees(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default = false)] include_relieved: bool,
    ) -> Result<OffsetConnection<Plain<Employee>>> {
        let args = RelayArgs::new(first, after, last, before).validate(graph(ctx).limits.max_page_size)?;
        let people = match self.group_id(ctx).await? {
            Some(group_id) => snapshot(ctx).await?.group_members(&group_id),
            None => Vec::new(),
        };
        Ok(people_connection(people, include_relieved, &args))
    }

    /// The record as Keka sent it, for fields this schema does not name yet.
    async fn raw(&self) -> Option<Json<serde_json::Value>> {
        self.0.raw.json().map(Json)
    }
}

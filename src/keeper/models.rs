//! The SCIM resources Keeper returns, read leniently: every attribute optional (`#[serde(default)]`), `null` read as
//! absent, unknown attributes ignored, ids accepted as strings or numbers. Nothing here depends on `meta`.

use serde::{Deserialize, Deserializer};

/// A SCIM User: one Keeper account of the node.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScimUser {
    /// Keeper's Enterprise User ID: a string of digits. Opaque.
    #[serde(deserialize_with = "lenient_id")]
    pub id: String,
    /// The user's email address, which is the Keeper login.
    #[serde(deserialize_with = "null_as_default")]
    pub user_name: String,
    /// The full name; Keeper fills in the email when none was given.
    pub display_name: Option<String>,
    pub name: Option<ScimName>,
    #[serde(deserialize_with = "null_as_default")]
    pub emails: Vec<ScimEmail>,
    /// The user's teams; only `value` (the Team UID) is read.
    #[serde(deserialize_with = "null_as_default")]
    pub groups: Vec<ScimRef>,
    /// As Keeper sent it: only JSON `true` and `false` mean something (see [`super::AccountStatus`]).
    pub active: Option<serde_json::Value>,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScimName {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ScimEmail {
    #[serde(deserialize_with = "null_as_default")]
    pub value: String,
    /// `true`, `false`, or the strings `"true"`/`"false"`; anything else reads as absent.
    #[serde(deserialize_with = "lenient_bool")]
    pub primary: Option<bool>,
    /// SCIM's `type` (`"work"`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// A reference to another resource (`groups[]` of a user, `members[]` of a group). Only `value` is read; a bare
/// string or number is accepted as the value itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimRef {
    pub value: String,
}

impl<'de> Deserialize<'de> for ScimRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Object(mut fields) => fields.remove("value").map(id_text).unwrap_or_default(),
            other => id_text(other),
        };
        Ok(Self { value })
    }
}

/// A SCIM Group: one Keeper team of the node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScimGroup {
    /// The Team UID: 22 characters of base64url (may hold `-` and `_`). Opaque.
    #[serde(deserialize_with = "lenient_id")]
    pub id: String,
    /// The team name (empty when Keeper sent none).
    #[serde(deserialize_with = "null_as_default")]
    pub display_name: String,
    pub external_id: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub members: Vec<ScimRef>,
}

/// A SCIM ListResponse (RFC 7644 §3.4.2). Keeper sends all three counters; a missing one reads as `None`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct ListResponse<T> {
    #[serde(default, deserialize_with = "lenient_count")]
    pub total_results: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub start_index: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    pub items_per_page: Option<u64>,
    #[serde(rename = "Resources", alias = "resources", default = "Vec::new", deserialize_with = "null_as_default")]
    pub resources: Vec<T>,
}

/// `null` reads as the default, like a missing attribute.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// An id as a string; a number is accepted and written in decimal, `null` reads as empty.
fn lenient_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Unsigned(u64),
        Signed(i64),
    }
    Ok(match Option::<Id>::deserialize(deserializer)? {
        Some(Id::Text(text)) => text,
        Some(Id::Unsigned(number)) => number.to_string(),
        Some(Id::Signed(number)) => number.to_string(),
        None => String::new(),
    })
}

fn id_text(value: serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text,
        serde_json::Value::Number(number) => number.to_string(),
        _ => String::new(),
    }
}

fn lenient_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Bool(flag) => Some(flag),
        serde_json::Value::String(text) if text.trim().eq_ignore_ascii_case("true") => Some(true),
        serde_json::Value::String(text) if text.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

/// A counter as a number or a string of digits; anything else reads as absent.
fn lenient_count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Number(number) => number.as_u64(),
        serde_json::Value::String(text) => text.trim().parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_recorded_keeper_user() {
        let user: ScimUser = serde_json::from_str(
            r#"{
              "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
              "userName": "priya.nair@acme.example",
              "displayName": "Priya Nair",
              "name": { "givenName": "Priya", "familyName": "Nair" },
              "id": "914901048493161",
              "emails": [ { "primary": true, "value": "priya.nair@acme.example", "type": "work" } ],
              "groups": [ { "value": "GDjSrBE2ICe0XyRExVOBNQ", "display": "Ops", "$ref": "x" } ],
              "active": true
            }"#,
        )
        .unwrap();
        assert_eq!(user.id, "914901048493161");
        assert_eq!(user.user_name, "priya.nair@acme.example");
        assert_eq!(user.name.as_ref().unwrap().given_name.as_deref(), Some("Priya"));
        assert_eq!(
            user.emails,
            [ScimEmail {
                value: "priya.nair@acme.example".to_owned(),
                primary: Some(true),
                kind: Some("work".to_owned())
            }]
        );
        assert_eq!(user.groups, [ScimRef { value: "GDjSrBE2ICe0XyRExVOBNQ".to_owned() }]);
        assert_eq!(user.active, Some(serde_json::Value::Bool(true)));
        assert_eq!(user.external_id, None);
    }

    #[test]
    fn missing_and_null_attributes_read_as_absent() {
        let user: ScimUser = serde_json::from_str(
            r#"{"id": 914901048493161, "userName": "a@b.example", "name": null, "emails": null, "groups": null,
                "meta": {"lastModified": "x"}, "phoneNumbers": []}"#,
        )
        .unwrap();
        assert_eq!(user.id, "914901048493161");
        assert!(user.emails.is_empty() && user.groups.is_empty() && user.name.is_none() && user.active.is_none());
        let empty: ScimUser = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, ScimUser::default());
    }

    #[test]
    fn emails_accept_string_flags_and_refs_accept_bare_values() {
        let user: ScimUser = serde_json::from_str(
            r#"{"emails": [{"value": "a@b", "primary": "True"}, {"value": "c@d", "primary": "maybe"}],
                "groups": ["team-1", 42, {"display": "no value"}]}"#,
        )
        .unwrap();
        assert_eq!(user.emails[0].primary, Some(true));
        assert_eq!(user.emails[1].primary, None);
        let values: Vec<&str> = user.groups.iter().map(|group| group.value.as_str()).collect();
        assert_eq!(values, ["team-1", "42", ""]);
    }

    #[test]
    fn reads_a_group_list_response() {
        let page: ListResponse<ScimGroup> = serde_json::from_str(
            r#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": "2",
                "startIndex": 1, "itemsPerPage": 2, "Resources": [
                  {"id": "GDjSrBE2ICe0XyRExVOBNQ", "displayName": "Ops", "members": [{"value": "1"}]},
                  {"id": "a-b_c", "externalId": "idp-7"}
                ]}"#,
        )
        .unwrap();
        assert_eq!(page.total_results, Some(2));
        assert_eq!(page.start_index, Some(1));
        assert_eq!(page.resources[0].members, [ScimRef { value: "1".to_owned() }]);
        assert_eq!(page.resources[1].display_name, "");
        assert_eq!(page.resources[1].external_id.as_deref(), Some("idp-7"));
    }

    #[test]
    fn a_list_without_resources_is_empty() {
        let page: ListResponse<ScimUser> = serde_json::from_str(r#"{"totalResults": 0}"#).unwrap();
        assert!(page.resources.is_empty());
        let page: ListResponse<ScimUser> = serde_json::from_str(r#"{"resources": [{"id": "1"}]}"#).unwrap();
        assert_eq!(page.resources.len(), 1);
        assert_eq!(page.total_results, None);
    }
}

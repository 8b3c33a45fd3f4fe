//! The organisation's small lists: groups, group types, departments, locations and job titles.

use serde::Deserialize;

use super::RawRecord;

use super::{Address, EmployeeRef, KekaDate, SystemGroupType, null_as_default};

/// `/hris/groups`: a business unit, department, location, cost centre, team… or a custom group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub group_type_id: Option<String>,
    #[serde(default)]
    pub gl_code: Option<String>,
    /// The record as Keka sent it.
    #[serde(skip)]
    pub raw: RawRecord,
}

/// `/hris/grouptypes`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupType {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub is_system_defined: Option<bool>,
    #[serde(default)]
    pub system_group_type: Option<SystemGroupType>,
}

/// `/hris/departments`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Department {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub is_archived: Option<bool>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub department_heads: Vec<EmployeeRef>,
}

/// `/hris/locations`: Keka's offices.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub address: Option<Address>,
    /// The record as Keka sent it.
    #[serde(skip)]
    pub raw: RawRecord,
}

/// `/hris/jobtitles`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobTitle {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// Filters of `GET /hris/groups`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct GroupFilter {
    pub group_type_ids: Vec<String>,
    pub system_group_types: Vec<SystemGroupType>,
    pub last_modified: Option<KekaDate>,
}

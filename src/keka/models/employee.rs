//! `EmployeeProfile` from `/hris/employees`, with its nested references and enums.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use serde::Deserialize;

use super::RawRecord;

use super::keka_enum::keka_enum;
use super::{Address, KekaDate, TitleRef, null_as_default};

keka_enum!(
    /// `employmentStatus`.
    EmploymentStatus { Working = 0, Relieved = 1 }
);
keka_enum!(
    /// `accountStatus`.
    AccountStatus { NotRegistered = 0, Registered = 1, Disabled = 2 }
);
keka_enum!(
    /// `timeType`.
    TimeType { None = 0, FullTime = 1, PartTime = 2 }
);
keka_enum!(
    /// `workerType`.
    WorkerType { None = 0, Permanent = 1, Contingent = 2 }
);
keka_enum!(
    /// `gender` (employees and candidates).
    Gender { NotSpecified = 0, Male = 1, Female = 2, Nonbinary = 3, PreferNotToRespond = 4 }
);
keka_enum!(
    /// `maritalStatus`.
    MaritalStatus { None = 0, Single = 1, Married = 2, Widowed = 3, Separated = 4 }
);
keka_enum!(
    /// `exitStatus`.
    ExitStatus { None = 0, Initiated = 1, Completed = 2 }
);
keka_enum!(
    /// `exitType`.
    ExitType { None = 0, EmployeeResignation = 1, CompanyAction = 2 }
);
keka_enum!(
    /// `invitationStatus`.
    InvitationStatus { NotInvited = 0, Invited = 1 }
);
keka_enum!(
    /// `SystemGroupType`: the `groupType` of an employee's groups and the `systemGroupType` of a group type.
    /// Keka's Postman docs name 9 `Segment`; another source calls it `LegalEntity`. Custom types report 0.
    SystemGroupType {
        None = 0,
        BusinessUnit = 1,
        Department = 2,
        OrgLocation = 3,
        CostCenter = 4,
        Paygroup = 5,
        ProjectTeam = 6,
        Team = 7,
        ClientTeam = 8,
        Segment = 9,
    }
);

/// A person as Keka returns it from `/hris/employees` and `/hris/employees/{id}`.
///
/// `educationDetails` and `experienceDetails` are not read: nothing here uses them, and kept
/// as JSON they were a third of a cached employee's memory (10,000 people are cached at once).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Employee {
    pub id: String,
    #[serde(default)]
    pub employee_number: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub middle_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Work email.
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub personal_email: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub country_code: Option<String>,
    #[serde(default)]
    pub nationality: Option<String>,
    #[serde(default)]
    pub image: Option<EmployeeImage>,
    #[serde(default)]
    pub job_title: Option<TitleRef>,
    #[serde(default)]
    pub secondary_job_title: Option<TitleRef>,
    #[serde(default)]
    pub reports_to: Option<EmployeeRef>,
    #[serde(default)]
    pub l2_manager: Option<EmployeeRef>,
    #[serde(default)]
    pub dotted_line_manager: Option<EmployeeRef>,
    #[serde(default)]
    pub contingent_type: Option<NamedRef>,
    #[serde(default)]
    pub time_type: Option<TimeType>,
    #[serde(default)]
    pub worker_type: Option<WorkerType>,
    #[serde(default)]
    pub is_private: Option<bool>,
    #[serde(default)]
    pub is_profile_complete: Option<bool>,
    #[serde(default)]
    pub marital_status: Option<MaritalStatus>,
    #[serde(default)]
    pub marriage_date: Option<KekaDate>,
    #[serde(default)]
    pub gender: Option<Gender>,
    #[serde(default)]
    pub joining_date: Option<KekaDate>,
    #[serde(default)]
    pub total_experience_in_days: Option<f64>,
    #[serde(default)]
    pub professional_summary: Option<String>,
    #[serde(default)]
    pub date_of_birth: Option<KekaDate>,
    #[serde(default)]
    pub resignation_submitted_date: Option<KekaDate>,
    #[serde(default)]
    pub exit_date: Option<KekaDate>,
    #[serde(default)]
    pub employment_status: Option<EmploymentStatus>,
    #[serde(default)]
    pub account_status: Option<AccountStatus>,
    #[serde(default)]
    pub invitation_status: Option<InvitationStatus>,
    #[serde(default)]
    pub exit_status: Option<ExitStatus>,
    #[serde(default)]
    pub exit_type: Option<ExitType>,
    /// Shape undocumented (a string or a reference object): kept raw.
    #[serde(default)]
    pub exit_reason: Option<serde_json::Value>,
    #[serde(default)]
    pub work_phone: Option<String>,
    #[serde(default)]
    pub home_phone: Option<String>,
    #[serde(default)]
    pub mobile_phone: Option<String>,
    /// Shape undocumented (an integer enum or a string): kept raw.
    #[serde(default)]
    pub blood_group: Option<serde_json::Value>,
    #[serde(default)]
    pub attendance_number: Option<String>,
    #[serde(default)]
    pub probation_end_date: Option<KekaDate>,
    #[serde(default)]
    pub current_address: Option<Address>,
    #[serde(default)]
    pub permanent_address: Option<Address>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub relations: Vec<Relation>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub custom_fields: Vec<CustomField>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub groups: Vec<EmployeeGroup>,
    #[serde(default)]
    pub holiday_calendar_id: Option<serde_json::Value>,
    #[serde(default)]
    pub leave_plan_info: Option<TitleRef>,
    #[serde(default)]
    pub band_info: Option<TitleRef>,
    #[serde(default)]
    pub pay_grade_info: Option<TitleRef>,
    #[serde(default)]
    pub shift_policy_info: Option<TitleRef>,
    #[serde(default)]
    pub weekly_off_policy_info: Option<TitleRef>,
    #[serde(default)]
    pub capture_scheme_info: Option<TitleRef>,
    #[serde(default)]
    pub tracking_policy_info: Option<TitleRef>,
    #[serde(default)]
    pub expense_policy_info: Option<TitleRef>,
    #[serde(default)]
    pub overtime_policy_info: Option<TitleRef>,
}

/// An employee's record as Keka sent it, read on demand (`Employee.raw`). Not kept with [`Employee`]: the org
/// snapshot holds everyone, and their compressed records pushed a 10,000-person process past its memory target.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EmployeeRecord {
    pub id: String,
    #[serde(skip)]
    pub raw: RawRecord,
}

/// `{id, firstName, lastName, email}`: how an employee points at a manager.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmployeeRef {
    pub id: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamedRef {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EmployeeImage {
    pub file_name: Option<String>,
    /// Keyed by size, e.g. `"50x50"`.
    #[serde(deserialize_with = "null_as_default")]
    pub thumbs: BTreeMap<String, String>,
}

/// One of the employee's groups: `{id, title, groupType}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmployeeGroup {
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub group_type: Option<SystemGroupType>,
}

/// `{id, title, type, value}`. Every employee repeats the tenant's fields, so the id, title and type are shared
/// (one allocation each per process) and the value is kept as text: with six fields a person, owned strings and JSON
/// values cost 15 MB at 10,000 employees.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomField {
    #[serde(default, deserialize_with = "shared_text")]
    pub id: Option<Arc<str>>,
    #[serde(default, deserialize_with = "shared_text")]
    pub title: Option<Arc<str>>,
    /// Keka documents a name (`Text`, `Dropdown`…); a number in its place is kept as its digits.
    #[serde(default, deserialize_with = "shared_text")]
    pub r#type: Option<Arc<str>>,
    /// Keka documents a string; a number or boolean in its place is kept as its JSON text.
    #[serde(default, deserialize_with = "text")]
    pub value: Option<Box<str>>,
}

/// A JSON scalar as text: a string as itself, anything else as its JSON (`null` is none).
fn text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Box<str>>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(deserializer)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(text)) => Some(text.into_boxed_str()),
        Some(other) => Some(other.to_string().into_boxed_str()),
    })
}

/// [`text`], shared with every equal string decoded before (up to `SHARED_TEXTS` distinct ones).
fn shared_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Arc<str>>, D::Error> {
    const SHARED_TEXTS: usize = 4_096;
    static SHARED: LazyLock<Mutex<HashSet<Arc<str>>>> = LazyLock::new(Default::default);
    let Some(text) = text(deserializer)? else { return Ok(None) };
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = shared.get(&*text) {
        return Ok(Some(known.clone()));
    }
    let text: Arc<str> = Arc::from(text);
    // A tenant has tens of fields; past the bound (a misbehaving answer) strings are simply not shared.
    if shared.len() < SHARED_TEXTS {
        shared.insert(text.clone());
    }
    Ok(Some(text))
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relation {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub relation_type: Option<serde_json::Value>,
    #[serde(default)]
    pub gender: Option<Gender>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub date_of_birth: Option<KekaDate>,
    #[serde(default)]
    pub profession: Option<String>,
    #[serde(default)]
    pub mobile: Option<String>,
}

impl Employee {
    /// An employee known only from a `{id, firstName, lastName, email}` reference (no display
    /// name: readers fall back to first and last name).
    pub fn from_reference(reference: &EmployeeRef) -> Self {
        let mut employee: Self = serde_json::from_value(serde_json::json!({ "id": reference.id }))
            .expect("an object with only an id decodes: every other field is optional");
        employee.first_name = reference.first_name.clone();
        employee.last_name = reference.last_name.clone();
        employee.email = reference.email.clone();
        employee
    }

    /// The department group (`groupType == 2`), which is how Keka exposes an employee's department.
    pub fn group_of_type(&self, kind: SystemGroupType) -> Option<&EmployeeGroup> {
        self.groups.iter().find(|group| group.group_type == Some(kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_enum_values_and_missing_fields_decode() {
        let employee: Employee = serde_json::from_value(serde_json::json!({
            "id": "e1",
            "employmentStatus": 7,
            "gender": "Female",
            "jobTitle": {"identifier": "t1", "title": "Engineer"},
            "groups": [{"id": "g1", "title": "Sales", "groupType": 2}, {"id": "g2", "title": "Guild", "groupType": 42}],
            "relations": null,
            "someFieldKekaAddedLater": {"x": 1}
        }))
        .unwrap();
        assert_eq!(employee.employment_status, Some(EmploymentStatus::Unknown(7)));
        assert_eq!(employee.gender, Some(Gender::Female));
        assert_eq!(employee.group_of_type(SystemGroupType::Department).unwrap().id, "g1");
        assert_eq!(employee.groups[1].group_type, Some(SystemGroupType::Unknown(42)));
        assert!(employee.relations.is_empty());
        assert!(employee.email.is_none());
    }

    #[test]
    fn custom_fields_share_their_titles_and_keep_values_as_text() {
        let decode = |value: serde_json::Value| -> Employee {
            serde_json::from_value(serde_json::json!({ "id": "e1", "customFields": [
                { "id": "f1", "title": "Desk Number", "type": "Number", "value": value },
            ]}))
            .unwrap()
        };
        let (one, other) = (decode(serde_json::json!("412")), decode(serde_json::json!(413)));
        let (one, other) = (&one.custom_fields[0], &other.custom_fields[0]);
        assert!(Arc::ptr_eq(one.title.as_ref().unwrap(), other.title.as_ref().unwrap()), "one title for everyone");
        assert_eq!(one.value.as_deref(), Some("412"));
        assert_eq!(other.value.as_deref(), Some("413"), "a number where Keka documents text");
        assert_eq!(decode(serde_json::Value::Null).custom_fields[0].value, None);
    }
}

//! Properties of decoding Keka's answers: whatever the body, every type the client decodes gives a value or the
//! layer's error, never a panic, and the pages built from decoded envelopes are built without one either.
//!
//! Bodies are arbitrary bytes, arbitrary JSON whose objects use Keka's field names, and real records with values
//! replaced, removed or added at any depth. The real records (`testdata/wire_samples.json`) were recorded from the
//! sandbox's wire format (seed 42, 60 employees): one of each resource the client reads.

use std::sync::LazyLock;

use chrono::Datelike;
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::client::{ArrayOrEnvelope, OneOrMany, decode};
use super::error::KekaError;
use super::models::{
    AttendanceDay, Candidate, Department, Employee, EmployeeLeaveBalances, ErrorBody, Group, GroupType, ItemsPage, Job,
    JobTitle, LeaveRequest, LeaveType, ListEnvelope, Location, PreboardingCandidate, SingleEnvelope,
    parse_keka_datetime,
};
use super::pagination::{Page, PageRequest};
use keka_test_support::json_strategies::{self, to_body};

static SAMPLES: LazyLock<Value> =
    LazyLock::new(|| serde_json::from_str(include_str!("testdata/wire_samples.json")).expect("the samples are JSON"));

fn sample(name: &str) -> Value {
    SAMPLES.get(name).unwrap_or_else(|| panic!("no sample `{name}`")).clone()
}

fn list_envelope(records: Vec<Value>) -> Value {
    json!({
        "succeeded": true, "message": "Success", "errors": [], "data": records, "pageNumber": 2, "pageSize": 100,
        "totalPages": 3, "totalRecords": 250, "firstPage": "https://x/?pageNumber=1",
        "lastPage": "https://x/?pageNumber=3", "nextPage": "https://x/?pageNumber=3",
        "previousPage": "https://x/?pageNumber=1"
    })
}

/// Every payload shape the client reads, built from the real records.
static BASES: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let list = |name: &str| list_envelope(vec![sample(name), sample(name)]);
    vec![
        list("employee"),
        json!({"succeeded": true, "message": null, "errors": null, "data": sample("employee")}),
        json!({"succeeded": true, "data": [sample("employee")]}),
        list("group"),
        list("groupType"),
        list("department"),
        list("location"),
        list("jobTitle"),
        list("leaveType"),
        list("leaveRequest"),
        list("leaveBalance"),
        list("attendance"),
        list("job"),
        json!([sample("job"), sample("job")]),
        list("candidate"),
        json!([sample("candidate")]),
        json!({"items": [sample("preboarding"), sample("preboarding")], "page": 1, "pageSize": 100, "totalItems": 2,
               "totalPages": 1, "sortBy": "expectedDateOfJoining", "sortOrder": "asc"}),
        json!({"succeeded": false, "message": "An Error Occured", "errors": ["Employee not found"], "data": null}),
        json!({"status": 400, "errors": [{"fieldName": "from", "errorMessage": "must be before to"}],
               "errorCode": "X"}),
        json!({"title": "One or more validation errors occurred.", "status": 400,
               "errors": {"pageSize": ["The value 'abc' is not valid."]}}),
    ]
});

/// Keka's field names: every key of the real records and envelopes.
static KEYS: LazyLock<Vec<String>> = LazyLock::new(|| json_strategies::keys_of(&Value::Array(BASES.clone())));

/// The members `Employee` reads; the samples hold more, which it ignores.
const EMPLOYEE_FIELDS: &[&str] = &[
    "id",
    "employeeNumber",
    "firstName",
    "middleName",
    "lastName",
    "displayName",
    "email",
    "personalEmail",
    "city",
    "countryCode",
    "nationality",
    "image",
    "jobTitle",
    "secondaryJobTitle",
    "reportsTo",
    "l2Manager",
    "dottedLineManager",
    "contingentType",
    "timeType",
    "workerType",
    "isPrivate",
    "isProfileComplete",
    "maritalStatus",
    "marriageDate",
    "gender",
    "joiningDate",
    "totalExperienceInDays",
    "professionalSummary",
    "dateOfBirth",
    "resignationSubmittedDate",
    "exitDate",
    "employmentStatus",
    "accountStatus",
    "invitationStatus",
    "exitStatus",
    "exitType",
    "exitReason",
    "workPhone",
    "homePhone",
    "mobilePhone",
    "bloodGroup",
    "attendanceNumber",
    "probationEndDate",
    "currentAddress",
    "permanentAddress",
    "relations",
    "customFields",
    "groups",
    "holidayCalendarId",
    "leavePlanInfo",
    "bandInfo",
    "payGradeInfo",
    "shiftPolicyInfo",
    "weeklyOffPolicyInfo",
    "captureSchemeInfo",
    "trackingPolicyInfo",
    "expensePolicyInfo",
    "overtimePolicyInfo",
];

const ENDPOINT: &str = "/property";

/// Decodes `body` as `T` the way the client does: a value, or the layer's decode (or 200-but-failed) error.
fn decoded<T: DeserializeOwned>(body: &[u8]) -> Result<Option<T>, TestCaseError> {
    match decode::<T>(ENDPOINT, body) {
        Ok(value) => Ok(Some(value)),
        Err(error @ (KekaError::Decode { .. } | KekaError::Upstream { status: 200, .. })) => {
            let _ = error.to_string();
            Ok(None)
        }
        Err(other) => Err(TestCaseError::fail(format!("decoding failed with {other:?}"))),
    }
}

fn list<T: DeserializeOwned>(body: &[u8], request: PageRequest) -> Result<(), TestCaseError> {
    if let Some(envelope) = decoded::<ListEnvelope<T>>(body)? {
        let length = envelope.data.len();
        let page = Page::from_envelope(envelope, request);
        prop_assert_eq!(page.items.len(), length);
        prop_assert!(!page.has_next || length > 0);
    }
    Ok(())
}

fn hire_list<T: DeserializeOwned>(body: &[u8], request: PageRequest) -> Result<(), TestCaseError> {
    match decoded::<ArrayOrEnvelope<T>>(body)? {
        Some(ArrayOrEnvelope::Array(items)) => drop(Page::from_array(items, request)),
        Some(ArrayOrEnvelope::Envelope(envelope)) => drop(Page::from_envelope(envelope, request)),
        None => {}
    }
    Ok(())
}

/// Decodes `body` as every type the client decodes, and builds pages from what decodes.
fn decode_as_everything(body: &[u8], request: PageRequest) -> Result<(), TestCaseError> {
    list::<Employee>(body, request)?;
    decoded::<SingleEnvelope<Employee>>(body)?;
    if let Some(envelope) = decoded::<SingleEnvelope<OneOrMany<Employee>>>(body)? {
        drop(envelope.data.map(OneOrMany::into_vec));
    }
    list::<Group>(body, request)?;
    list::<GroupType>(body, request)?;
    list::<Department>(body, request)?;
    list::<Location>(body, request)?;
    list::<JobTitle>(body, request)?;
    list::<LeaveType>(body, request)?;
    list::<LeaveRequest>(body, request)?;
    list::<EmployeeLeaveBalances>(body, request)?;
    list::<AttendanceDay>(body, request)?;
    hire_list::<Job>(body, request)?;
    hire_list::<Candidate>(body, request)?;
    if let Some(items) = decoded::<ItemsPage<PreboardingCandidate>>(body)? {
        drop(Page::from_items_page(items, request));
    }
    // Error bodies are read leniently, outside `decode`.
    if let Ok(error) = serde_json::from_slice::<ErrorBody>(body) {
        drop(error.messages());
    }
    Ok(())
}

fn page_request() -> impl Strategy<Value = PageRequest> {
    (any::<u32>(), any::<u32>()).prop_map(|(number, size)| PageRequest::new(number, size))
}

#[test]
fn every_base_decodes_as_its_own_type() {
    // The bases must be valid, or the edited ones would not go past the first error.
    let bases = &*BASES;
    let body = |index: usize| to_body(&bases[index]);
    let ok = |result: Result<(), KekaError>, index: usize| assert!(result.is_ok(), "base {index}: {result:?}");
    ok(decode::<ListEnvelope<Employee>>(ENDPOINT, &body(0)).map(drop), 0);
    ok(decode::<SingleEnvelope<Employee>>(ENDPOINT, &body(1)).map(drop), 1);
    ok(decode::<SingleEnvelope<OneOrMany<Employee>>>(ENDPOINT, &body(2)).map(drop), 2);
    ok(decode::<ListEnvelope<Group>>(ENDPOINT, &body(3)).map(drop), 3);
    ok(decode::<ListEnvelope<GroupType>>(ENDPOINT, &body(4)).map(drop), 4);
    ok(decode::<ListEnvelope<Department>>(ENDPOINT, &body(5)).map(drop), 5);
    ok(decode::<ListEnvelope<Location>>(ENDPOINT, &body(6)).map(drop), 6);
    ok(decode::<ListEnvelope<JobTitle>>(ENDPOINT, &body(7)).map(drop), 7);
    ok(decode::<ListEnvelope<LeaveType>>(ENDPOINT, &body(8)).map(drop), 8);
    ok(decode::<ListEnvelope<LeaveRequest>>(ENDPOINT, &body(9)).map(drop), 9);
    ok(decode::<ListEnvelope<EmployeeLeaveBalances>>(ENDPOINT, &body(10)).map(drop), 10);
    ok(decode::<ListEnvelope<AttendanceDay>>(ENDPOINT, &body(11)).map(drop), 11);
    ok(decode::<ArrayOrEnvelope<Job>>(ENDPOINT, &body(12)).map(drop), 12);
    ok(decode::<ArrayOrEnvelope<Job>>(ENDPOINT, &body(13)).map(drop), 13);
    ok(decode::<ArrayOrEnvelope<Candidate>>(ENDPOINT, &body(14)).map(drop), 14);
    ok(decode::<ArrayOrEnvelope<Candidate>>(ENDPOINT, &body(15)).map(drop), 15);
    ok(decode::<ItemsPage<PreboardingCandidate>>(ENDPOINT, &body(16)).map(drop), 16);
    // A 200 that says it failed is Keka's error, with its messages.
    match decode::<ListEnvelope<Employee>>(ENDPOINT, br#"{"succeeded": false, "errors": ["nope"], "data": 7}"#) {
        Err(KekaError::Upstream { status: 200, errors, .. }) => assert_eq!(errors, ["nope"]),
        other => panic!("{other:?}"),
    }
    for index in 17..bases.len() {
        assert!(!serde_json::from_slice::<ErrorBody>(&body(index)).unwrap().messages().is_empty(), "base {index}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_decode_or_fail_as_every_keka_type(
        body in prop::collection::vec(any::<u8>(), 0..512),
        request in page_request(),
    ) {
        decode_as_everything(&body, request)?;
    }

    #[test]
    fn any_json_with_kekas_field_names_decodes_or_fails_as_every_keka_type(
        value in json_strategies::json(KEYS.clone()),
        request in page_request(),
    ) {
        decode_as_everything(&to_body(&value), request)?;
    }

    #[test]
    fn real_payloads_edited_anywhere_decode_or_fail_as_every_keka_type(
        body in json_strategies::body(BASES.clone(), KEYS.clone()),
        request in page_request(),
    ) {
        decode_as_everything(&body, request)?;
    }

    /// One member of a real employee replaced (or removed, or added): the profile decodes or fails, in an
    /// envelope or not. A `null` or a missing member is fine everywhere but `id`, and members the model does not
    /// read never matter.
    #[test]
    fn an_employee_with_one_member_replaced_decodes_or_fails(
        member in prop_oneof![
            3 => prop::sample::select(sample("employee").as_object().unwrap().keys().cloned().collect::<Vec<_>>()),
            1 => prop::sample::select(EMPLOYEE_FIELDS.iter().map(|field| (*field).to_owned()).collect::<Vec<_>>()),
            1 => any::<String>(),
        ],
        value in prop::option::of(json_strategies::json(KEYS.clone())),
    ) {
        let mut employee = sample("employee");
        let fields = employee.as_object_mut().unwrap();
        match &value {
            Some(value) => fields.insert(member.clone(), value.clone()),
            None => fields.remove(&member),
        };
        let body = to_body(&employee);
        let profile = decoded::<Employee>(&body)?;
        let harmless = member != "id" && value.as_ref().is_none_or(Value::is_null);
        if harmless || !EMPLOYEE_FIELDS.contains(&member.as_str()) {
            prop_assert!(profile.is_some(), "`{}` set to {:?} was refused", member, value);
        }
        if let Some(profile) = &profile {
            prop_assert!(member == "id" || profile.id == sample("employee")["id"]);
        }
        let single = decoded::<SingleEnvelope<Employee>>(&to_body(&json!({"succeeded": true, "data": employee})))?;
        prop_assert_eq!(single.is_some(), profile.is_some());
        let page = decoded::<ListEnvelope<Employee>>(&to_body(&list_envelope(vec![employee])))?;
        prop_assert_eq!(page.is_some(), profile.is_some());
    }

    #[test]
    fn any_date_text_parses_or_is_refused(text in json_strategies::text()) {
        if let Some(at) = parse_keka_datetime(&text)
            && (1..=9999).contains(&at.year())
        {
            // What parses is an instant that prints as RFC 3339 and reads back (RFC 3339 years have four digits).
            let printed = at.to_rfc3339();
            prop_assert_eq!(parse_keka_datetime(&printed), Some(at), "{} printed as {}", text, printed);
        }
    }
}

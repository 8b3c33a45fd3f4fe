//! The Keka client against the embedded sandbox: the two sides were written from their own
//! definitions, so a field-name mistake on either side shows up here as missing data.

use std::time::Duration;

use chrono::NaiveDate;
use keka_sandbox::{HireListShape, RunningSandbox, SandboxConfig};
use keka_subgraph::keka::models::{EmploymentStatus, GroupFilter, SystemGroupType};
use keka_subgraph::keka::{EmployeeFilter, KekaClient, PreboardingFilter};

use crate::helpers::sandbox_config;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
}

async fn start_sandbox(employees: usize, configure: impl FnOnce(&mut SandboxConfig)) -> RunningSandbox {
    let mut config = SandboxConfig { employees, today: today(), rate_limit_per_minute: 0, ..SandboxConfig::default() };
    configure(&mut config);
    RunningSandbox::start(config).await.expect("sandbox starts")
}

#[tokio::test]
async fn walking_all_employees_of_a_1000_employee_tenant_takes_exactly_5_requests() {
    let sandbox = start_sandbox(1000, |_| {}).await;
    let client = KekaClient::new(sandbox_config(&sandbox)).unwrap();

    let employees = client.all_employees(&EmployeeFilter::default()).await.unwrap();

    assert_eq!(employees.len(), 1000);
    let stats = sandbox.stats();
    assert_eq!(stats.count("/api/v1/hris/employees"), 5, "{stats:?}");
    assert_eq!(stats.api_requests(), 5);
    assert_eq!(stats.token_requests, 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_burst_larger_than_the_budget_is_spaced_by_the_limiter_and_gets_no_429() {
    let window = Duration::from_millis(500);
    let sandbox = start_sandbox(50, |config| {
        config.rate_limit_per_minute = 4;
        config.rate_limit_window = window;
    })
    .await;
    let mut config = sandbox_config(&sandbox);
    config.rate_limit_per_window = 4;
    config.rate_limit_window = window;
    // A generous margin: under load a request may reach the sandbox well after it was sent.
    config.rate_limit_margin = Duration::from_millis(500);
    let client = KekaClient::new(config).unwrap();

    let results = futures::future::join_all((0..10).map(|_| client.group_types())).await;

    assert!(results.iter().all(Result::is_ok));
    let stats = sandbox.stats();
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
    assert_eq!(stats.count("/api/v1/hris/grouptypes"), 10);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn without_the_client_limiter_the_sandbox_does_answer_429() {
    // The counterpart of the test above: proves the sandbox enforces its budget, so the
    // zero-429 result there comes from the client's limiter.
    let sandbox = start_sandbox(50, |config| {
        config.rate_limit_per_minute = 3;
        config.rate_limit_window = Duration::from_secs(600);
    })
    .await;
    let mut config = sandbox_config(&sandbox);
    config.rate_limit_per_window = 0;
    config.max_retries = 0;
    let client = KekaClient::new(config).unwrap();

    let results = futures::future::join_all((0..5).map(|_| client.group_types())).await;

    assert_eq!(results.iter().filter(|result| result.is_err()).count(), 2);
    assert_eq!(sandbox.stats().rate_limited, 2);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_revoked_token_is_replaced_transparently() {
    let sandbox = start_sandbox(20, |_| {}).await;
    let client = KekaClient::new(sandbox_config(&sandbox)).unwrap();
    client.group_types().await.unwrap();

    sandbox.revoke_tokens();
    client.group_types().await.unwrap();

    assert_eq!(client.tokens_fetched(), 2);
    assert_eq!(sandbox.stats().count_status("/api/v1/hris/grouptypes", 401), 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn wrong_credentials_are_refused_by_the_sandbox_token_endpoint() {
    let sandbox = start_sandbox(20, |_| {}).await;
    let mut config = sandbox_config(&sandbox);
    config.credentials.client_secret = secrecy::SecretString::from("not-the-secret");

    let error = KekaClient::new(config).unwrap().group_types().await.unwrap_err();

    assert!(matches!(error, keka_subgraph::keka::KekaError::Unauthorized { .. }), "{error:?}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn every_core_hr_endpoint_reads_end_to_end() {
    let sandbox = start_sandbox(300, |_| {}).await;
    let client = KekaClient::new(sandbox_config(&sandbox)).unwrap();

    let employees = client.all_employees(&EmployeeFilter::default()).await.unwrap();
    let groups = client.groups(&GroupFilter::default()).await.unwrap();
    let group_types = client.group_types().await.unwrap();
    let departments = client.departments(None).await.unwrap();
    let locations = client.locations(None).await.unwrap();
    let job_titles = client.job_titles(None).await.unwrap();

    assert_eq!(employees.len(), 300);
    for employee in &employees {
        assert!(
            employee.display_name.is_some() && employee.first_name.is_some() && employee.last_name.is_some(),
            "{employee:?}"
        );
        assert!(employee.email.as_deref().is_some_and(|email| email.contains('@')), "{employee:?}");
        assert!(employee.employee_number.is_some() && employee.joining_date.is_some(), "{employee:?}");
        assert!(
            matches!(employee.employment_status, Some(EmploymentStatus::Working | EmploymentStatus::Relieved)),
            "{employee:?}"
        );
        let title = employee.job_title.as_ref().expect("job title");
        assert!(job_titles.iter().any(|known| Some(&known.id) == title.identifier.as_ref()), "{title:?}");
        for kind in [
            SystemGroupType::BusinessUnit,
            SystemGroupType::Department,
            SystemGroupType::OrgLocation,
            SystemGroupType::CostCenter,
        ] {
            let group = employee.group_of_type(kind).unwrap_or_else(|| panic!("{kind:?} group of {}", employee.id));
            assert!(groups.iter().any(|known| known.id == group.id));
        }
    }
    let roots: Vec<_> = employees.iter().filter(|employee| employee.reports_to.is_none()).collect();
    assert_eq!(roots.len(), 1, "a single-root manager tree");
    let ids: std::collections::HashSet<_> = employees.iter().map(|employee| employee.id.as_str()).collect();
    assert!(
        employees
            .iter()
            .filter_map(|employee| employee.reports_to.as_ref())
            .all(|manager| ids.contains(manager.id.as_str()))
    );
    assert!(employees.iter().any(|employee| employee.employment_status == Some(EmploymentStatus::Relieved)));
    assert!(employees.iter().any(|employee| employee.l2_manager.is_some()));
    assert!(group_types.iter().any(|kind| kind.system_group_type == Some(SystemGroupType::Department)));
    assert!(group_types.iter().any(|kind| kind.is_system_defined == Some(false)), "a custom group type");
    assert!(
        groups.iter().all(|group| group.name.is_some()
            && group_types.iter().any(|kind| Some(&kind.id) == group.group_type_id.as_ref()))
    );
    assert!(!departments.is_empty() && departments.iter().all(|department| department.name.is_some()));
    assert!(
        !locations.is_empty()
            && locations.iter().all(|location| location.address.as_ref().is_some_and(|address| address.city.is_some()))
    );

    // Filters and lookups.
    let working = client
        .all_employees(&EmployeeFilter {
            employment_status: vec![EmploymentStatus::Working],
            ..EmployeeFilter::default()
        })
        .await
        .unwrap();
    assert!(!working.is_empty() && working.len() < employees.len());
    assert!(working.iter().all(|employee| employee.employment_status == Some(EmploymentStatus::Working)));
    let someone = &employees[17];
    assert_eq!(client.employee(&someone.id).await.unwrap().map(|found| found.id), Some(someone.id.clone()));
    assert!(client.employee("00000000-0000-0000-0000-000000000000").await.unwrap().is_none());
    let by_email = client.employee_by_work_email(&someone.email.clone().unwrap().to_uppercase()).await.unwrap();
    assert_eq!(by_email.map(|found| found.id), Some(someone.id.clone()));
    let batch = client
        .employees_by_ids(&[employees[1].id.clone(), employees[2].id.clone(), "unknown".to_owned()])
        .await
        .unwrap();
    assert_eq!(batch.len(), 2);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn leave_attendance_and_hire_read_end_to_end() {
    let sandbox = start_sandbox(200, |config| config.hire_list_shape = HireListShape::Envelope).await;
    let client = KekaClient::new(sandbox_config(&sandbox)).unwrap();
    let employees = client.all_employees(&EmployeeFilter::default()).await.unwrap();
    let ids: std::collections::HashSet<_> = employees.iter().map(|employee| employee.id.clone()).collect();

    let leave_types = client.leave_types().await.unwrap();
    assert!(leave_types.len() >= 3 && leave_types.iter().all(|kind| kind.name.is_some() && kind.is_paid.is_some()));
    assert!(leave_types.iter().any(|kind| kind.is_paid == Some(false)));

    // 200 days: split into three windows by the client, each accepted by the sandbox's 90-day rule.
    let from = today() - chrono::Days::new(120);
    let to = today() + chrono::Days::new(80);
    let requests = client.leave_requests(&[], from, to).await.unwrap();
    assert!(!requests.is_empty());
    for request in &requests {
        assert!(ids.contains(request.employee_identifier.as_deref().unwrap()), "{request:?}");
        assert!(request.from_date.is_some() && request.to_date.is_some() && request.status.is_some(), "{request:?}");
        let selection = request.selection.first().expect("a leave type selection");
        assert!(
            leave_types.iter().any(|kind| Some(&kind.identifier) == selection.leave_type_identifier.as_ref()),
            "{selection:?}"
        );
    }
    assert_eq!(sandbox.stats().count_status("/api/v1/time/leaverequests", 400), 0);

    let balances = client.leave_balances(&[employees[3].id.clone()]).await.unwrap();
    assert_eq!(balances.len(), 1);
    assert!(!balances[0].leave_balance.is_empty());

    let week_start = today() - chrono::Days::new(6);
    let someone = employees
        .iter()
        .find(|employee| {
            employee.employment_status == Some(EmploymentStatus::Working)
                && employee.joining_date.is_some_and(|date| date.date() < week_start)
        })
        .unwrap();
    let attendance = client.attendance(std::slice::from_ref(&someone.id), week_start, today()).await.unwrap();
    assert_eq!(attendance.len(), 7, "one summary per day");
    assert!(attendance.iter().all(|day| day.employee_identifier == someone.id && day.day_type.is_some()));
    assert!(attendance.iter().any(|day| day.first_in_of_the_day.is_some()), "someone punched in this week");

    let jobs = client.jobs(None).await.unwrap();
    assert!(!jobs.is_empty() && jobs.iter().all(|job| job.title.is_some() && job.status.is_some()));
    let job = jobs.iter().max_by_key(|job| job.hiring_team.len()).unwrap();
    assert!(job.hiring_team.iter().all(|member| ids.contains(member.identifier.as_deref().unwrap())));
    let mut candidates = 0;
    for job in &jobs {
        let found = client.candidates(&job.id, false).await.unwrap();
        assert!(found.iter().all(|candidate| candidate.email.is_some() && candidate.job_application_details.is_some()));
        candidates += found.len();
    }
    assert!(candidates > 0);
    let preboarding = client.preboarding_candidates(&PreboardingFilter::default()).await.unwrap();
    assert!(
        !preboarding.is_empty()
            && preboarding.iter().all(|candidate| candidate.email.is_some() && candidate.stage.is_some())
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn both_hire_shapes_of_the_sandbox_read_the_same() {
    let array = start_sandbox(100, |config| config.hire_list_shape = HireListShape::Array).await;
    let envelope = start_sandbox(100, |config| config.hire_list_shape = HireListShape::Envelope).await;

    let from_array = KekaClient::new(sandbox_config(&array)).unwrap().jobs(None).await.unwrap();
    let from_envelope = KekaClient::new(sandbox_config(&envelope)).unwrap().jobs(None).await.unwrap();

    assert_eq!(from_array, from_envelope);
    array.shutdown().await;
    envelope.shutdown().await;
}

//! Leave requested through the API (`POST /api/v1/time/leaverequests`), through real loopback
//! requests: the envelope, what a filed request looks like in the lists and balances, every
//! refusal, half days, held balances, the lost-answer fault, auth and the budget.

use std::time::Duration;

use chrono::{Datelike as _, Days, NaiveDate, NaiveDateTime, SubsecRound as _, Utc, Weekday};
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};

use super::changes::{next_webhook, receiver};
use super::{Harness, config, today};
use crate::tenant::{EmploymentStatus, Session, Tenant};
use crate::{FaultConfig, SandboxConfig};

const LEAVE: &str = "/api/v1/time/leaverequests";
/// Upper bound for anything a test waits on.
const PATIENCE: Duration = Duration::from_secs(20);

impl Harness {
    /// Authorised `POST /time/leaverequests` with a JSON body; status and JSON body.
    async fn request_leave(&self, body: &Value) -> (u16, Value) {
        self.post_leave_raw(body.to_string()).await
    }

    async fn post_leave_raw(&self, body: String) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{LEAVE}", self.origin()))
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// The employee's requests listed from `from` to `to`.
    async fn listed(&self, employee: &str, from: NaiveDate, to: NaiveDate) -> Vec<Value> {
        self.get_all(&format!("{LEAVE}?employeeIds={employee}&from={from}&to={to}&pageSize=200")).await
    }

    /// (accrued, consumed, available) of one type for one employee, from `GET /time/leavebalance`.
    async fn balance(&self, employee: &str, leave_type: &str) -> (f64, f64, f64) {
        let (status, body) =
            self.get_json(&format!("/api/v1/time/leavebalance?employeeIds={employee}&leaveTypeIds={leave_type}")).await;
        assert_eq!(status, 200, "{body}");
        let b = &body["data"][0]["leaveBalance"][0];
        let amount = |k: &str| b[k].as_f64().expect(k);
        (amount("accruedAmount"), amount("consumedAmount"), amount("availableBalance"))
    }
}

/// Someone to request leave for: a working employee with a manager, a paid leave type whose available
/// balance suits the test, and `weeks` whole weeks from `monday` in which every weekday is a
/// working day at their office and none of their requests falls.
struct Pick {
    index: usize,
    employee: String,
    leave_type: String,
    available: f64,
    monday: NaiveDate,
}

impl Pick {
    fn find(t: &Tenant, weeks: u64, balance: impl Fn(f64) -> bool) -> Pick {
        // Past every generated request but the long parental ones (checked below).
        let start = today() + Days::new(150);
        let start = start + Days::new(u64::from((7 - start.weekday().num_days_from_monday()) % 7));
        for (i, e) in t.employees.iter().enumerate() {
            let staying = e.employment_status == EmploymentStatus::Working && e.exit_date.is_none();
            if !staying || e.reports_to.is_none() || e.joining_date > today() {
                continue;
            }
            let Some(b) =
                t.leave_balances[i].iter().find(|b| t.leave_types[b.leave_type].is_paid && balance(b.available))
            else {
                continue;
            };
            let monday = (0..20).map(|w| start + Days::new(7 * w)).find(|&monday| {
                let last = monday + Days::new(7 * weeks - 1);
                let working = (0..7 * weeks)
                    .map(|d| monday + Days::new(d))
                    .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
                    .all(|d| t.leave_days(i, d, d, Session::FirstHalf, Session::SecondHalf) == 1.0);
                working && t.leave_requests_of(i).all(|r| !r.overlaps(monday, last))
            });
            if let Some(monday) = monday {
                assert_eq!(monday.weekday(), Weekday::Mon);
                return Pick {
                    index: i,
                    employee: e.id.to_string(),
                    leave_type: t.leave_types[b.leave_type].id.to_string(),
                    available: b.available,
                    monday,
                };
            }
        }
        panic!("no employee fits");
    }

    /// `n` days after the Monday.
    fn day(&self, n: u64) -> NaiveDate {
        self.monday + Days::new(n)
    }

    /// A body for this employee and type.
    fn body(&self, from: NaiveDate, to: NaiveDate, from_session: u8, to_session: u8) -> Value {
        json!({
            "employeeId": self.employee,
            "fromDate": format!("{from}T00:00:00"),
            "toDate": format!("{to}T00:00:00"),
            "fromSession": from_session,
            "toSession": to_session,
            "leaveTypeId": self.leave_type,
        })
    }
}

/// The new id of a 200 answer, after checking Keka's single envelope around it.
fn created(status: u16, body: &Value) -> String {
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["succeeded"], true, "{body}");
    assert!(body["message"].is_null(), "{body}");
    assert_eq!(body["errors"], json!([]), "{body}");
    let id = body["data"].as_str().expect("the new id as a string");
    assert!(id.parse::<crate::tenant::Guid>().is_ok(), "{id}");
    id.to_owned()
}

/// The one error of a 400 answer, after checking Keka's error envelope around it.
fn refused(status: u16, body: &Value) -> String {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["succeeded"], false, "{body}");
    assert_eq!(body["message"], "An Error Occured", "{body}");
    assert!(body["data"].is_null(), "{body}");
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{body}");
    errors[0].as_str().expect("a message").to_owned()
}

/// Requests the tenant holds beyond the `generated` ones it started with.
fn filed(h: &Harness, generated: usize) -> usize {
    h.sandbox.tenant().leave_requests.len() - generated
}

#[tokio::test]
async fn a_request_is_filed_pending_listed_at_once_and_holds_its_days() {
    let h = Harness::start(config()).await;
    let t = h.sandbox.tenant();
    let pick = Pick::find(&t, 1, |available| available >= 5.0);
    let manager = t.employees[t.employees[pick.index].reports_to.expect("not the CEO")].id.to_string();
    let profile = format!("/api/v1/hris/employees/{}", pick.employee);
    let (_, profile_before) = h.get_json(&profile).await;
    let (accrued, consumed, available) = h.balance(&pick.employee, &pick.leave_type).await;
    assert_eq!(available, pick.available);

    let (friday, sunday) = (pick.day(4), pick.day(6));
    let mut body = pick.body(pick.monday, sunday, 0, 1);
    body["requestedBy"] = json!(manager);
    body["reason"] = json!("Family vacation");
    body["note"] = json!("Back on Monday");
    // The wire writes whole seconds.
    let before = (Utc::now().naive_utc() - chrono::TimeDelta::seconds(1)).trunc_subsecs(0);
    let (status, answer) = h.request_leave(&body).await;
    let id = created(status, &answer);

    // Listed at once, pending, for the days it covers; the weekend counts nothing.
    let listed = h.listed(&pick.employee, pick.monday, friday).await;
    let r = listed.iter().find(|r| r["id"] == id.as_str()).expect("listed");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(r["status"], 0, "pending");
    assert_eq!(r["employeeIdentifier"], pick.employee.as_str());
    assert_eq!(
        (&r["fromDate"], &r["toDate"]),
        (&json!(format!("{}T00:00:00", pick.monday)), &json!(format!("{sunday}T00:00:00")))
    );
    assert_eq!((&r["fromSession"], &r["toSession"]), (&json!(0), &json!(1)));
    assert_eq!(r["note"], "Back on Monday");
    assert!(r["cancelRejectReason"].is_null());
    assert_eq!(r["selection"][0]["leaveTypeIdentifier"], pick.leave_type.as_str());
    assert_eq!(r["selection"][0]["count"], 5.0);
    assert_eq!(r["selection"][0]["duration"]["durationString"], "5 Days");
    // Stamped with the sandbox's clock (UTC): now.
    assert_eq!(r["requestedOn"], r["lastActionTakenOn"]);
    let requested_on = NaiveDateTime::parse_from_str(r["requestedOn"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S").unwrap();
    assert!(requested_on >= before && requested_on <= Utc::now().naive_utc(), "{requested_on}");

    // The days are held: gone from the available balance, not consumed (nothing is approved).
    assert_eq!(h.balance(&pick.employee, &pick.leave_type).await, (accrued, consumed, available - 5.0));
    let t = h.sandbox.tenant();
    let stored = t.leave_requests_of(pick.index).find(|r| r.id.to_string() == id).expect("stored");
    assert_eq!(stored.reason.as_deref(), Some("Family vacation"));
    assert_eq!(stored.requested_by.map(|m| t.employees[m].id.to_string()), Some(manager));
    // Not an employee change: the profile (and its lastModified) is as it was.
    assert_eq!(h.get_json(&profile).await.1, profile_before);

    // Counted as a POST of its own route; not as an HR change.
    let stats = h.sandbox.stats();
    let posts: Vec<_> = stats.by_route.iter().filter(|r| r.method == "POST" && r.route == LEAVE).collect();
    assert_eq!(posts.len(), 1, "{:?}", stats.by_route);
    assert_eq!((posts[0].status, posts[0].count), (200, 1));
    assert_eq!(stats.hr_changes, 0);
    h.shutdown().await;
}

#[tokio::test]
async fn every_refused_request_is_a_400_naming_its_reason_and_files_nothing() {
    let h = Harness::start(config()).await;
    let t = h.sandbox.tenant();
    let generated = t.leave_requests.len();
    let pick = Pick::find(&t, 1, |available| available >= 1.0);
    let leavers: Vec<_> = t.employees.iter().filter(|e| e.employment_status == EmploymentStatus::Relieved).collect();
    let relieved = leavers.first().expect("the tenant has leavers").id.to_string();
    let employee = &t.employees[pick.index];
    let not_theirs = t
        .leave_types
        .iter()
        .enumerate()
        .find(|(lt, _)| t.leave_balances[pick.index].iter().all(|b| b.leave_type != *lt))
        .map(|(_, lt)| lt.id.to_string());
    let unknown = "00000000-0000-4000-8000-000000000000";
    let (monday, friday) = (pick.monday, pick.day(4));
    let with = |changes: &[(&str, Value)]| {
        let mut body = pick.body(monday, friday, 0, 1);
        for (key, value) in changes {
            body[*key] = value.clone();
        }
        body.to_string()
    };
    let without = |key: &str| {
        let mut body = pick.body(monday, friday, 0, 1);
        body.as_object_mut().unwrap().remove(key);
        body.to_string()
    };

    let mut cases: Vec<(String, String)> = vec![
        ("{\"employeeId\": ".to_owned(), "not valid JSON".to_owned()),
        ("[]".to_owned(), "JSON object".to_owned()),
        (without("employeeId"), "The employeeId field is required.".to_owned()),
        (without("fromDate"), "The fromDate field is required.".to_owned()),
        (without("toDate"), "The toDate field is required.".to_owned()),
        (without("leaveTypeId"), "The leaveTypeId field is required.".to_owned()),
        (with(&[("employeeId", json!(""))]), "The employeeId field is required.".to_owned()),
        (with(&[("employeeId", json!("E0042"))]), "'E0042' is not valid for employeeId".to_owned()),
        (with(&[("fromDate", json!("next monday"))]), "'next monday' is not valid for fromDate".to_owned()),
        (with(&[("fromSession", json!(2))]), "'2' is not valid for fromSession".to_owned()),
        (with(&[("employeeId", json!(unknown))]), format!("Employee with id {unknown} does not exist.")),
        (with(&[("requestedBy", json!(unknown))]), format!("Employee with id {unknown} (requestedBy) does not exist.")),
        (with(&[("leaveTypeId", json!(unknown))]), format!("Leave type with id {unknown} does not exist.")),
        (with(&[("employeeId", json!(relieved))]), "is relieved and cannot request leave".to_owned()),
        (
            with(&[("fromDate", json!(friday.to_string())), ("toDate", json!(monday.to_string()))]),
            "From date should be less than or equal to To date.".to_owned(),
        ),
        (
            with(&[("toDate", json!(monday.to_string())), ("fromSession", json!(1)), ("toSession", json!(0))]),
            "On a single day, leave cannot start in the second half and end in the first half.".to_owned(),
        ),
        (
            with(&[("toDate", json!((monday + Days::new(90)).to_string()))]),
            "cannot cover more than 90 days (91 days".to_owned(),
        ),
        (
            with(&[("fromDate", json!(pick.day(5).to_string())), ("toDate", json!(pick.day(6).to_string()))]),
            "There are no working days".to_owned(),
        ),
        (
            with(&[
                ("fromDate", json!((employee.joining_date - Days::new(1)).to_string())),
                ("toDate", json!((employee.joining_date + Days::new(1)).to_string())),
            ]),
            "is not employed on every day".to_owned(),
        ),
    ];
    if let Some(not_theirs) = not_theirs {
        cases.push((with(&[("leaveTypeId", json!(not_theirs))]), "is not applicable to employee".to_owned()));
    }
    for (body, expected) in &cases {
        let (status, answer) = h.post_leave_raw(body.clone()).await;
        let error = refused(status, &answer);
        assert!(error.contains(expected.as_str()), "{body}: {error:?} lacks {expected:?}");
    }
    // A range of exactly 90 days is not too long (another rule may still refuse it).
    let (status, answer) = h.post_leave_raw(with(&[("toDate", json!((monday + Days::new(89)).to_string()))])).await;
    if status == 400 {
        assert!(!refused(status, &answer).contains("more than 90 days"), "{answer}");
    } else {
        created(status, &answer);
    }
    assert_eq!(filed(&h, generated), usize::from(status == 200));
    assert_eq!(h.sandbox.stats().count_status(LEAVE, 400), cases.len() as u64 + u64::from(status == 400));
    h.shutdown().await;
}

#[tokio::test]
async fn half_days_of_one_day_both_fit_but_a_full_day_overlaps_either_half() {
    let h = Harness::start(config()).await;
    let pick = Pick::find(&h.sandbox.tenant(), 1, |available| available >= 3.0);
    let (monday, tuesday, wednesday) = (pick.monday, pick.day(1), pick.day(2));
    let (_, _, available) = h.balance(&pick.employee, &pick.leave_type).await;

    let (status, body) = h.request_leave(&pick.body(monday, monday, 0, 0)).await;
    let first_half = created(status, &body);
    let (status, body) = h.request_leave(&pick.body(monday, monday, 1, 1)).await;
    let second_half = created(status, &body);
    for session in [(0, 1), (0, 0), (1, 1)] {
        let (status, body) = h.request_leave(&pick.body(monday, monday, session.0, session.1)).await;
        let error = refused(status, &body);
        assert!(error.contains("overlaps leave request"), "{error}");
    }
    // A full day, then a half of it, or a request running into it from the day before.
    let (status, body) = h.request_leave(&pick.body(wednesday, wednesday, 0, 1)).await;
    let full_day = created(status, &body);
    let (status, body) = h.request_leave(&pick.body(wednesday, wednesday, 1, 1)).await;
    assert!(refused(status, &body).contains(&format!("overlaps leave request {full_day}")), "{body}");
    let (status, body) = h.request_leave(&pick.body(tuesday, wednesday, 0, 0)).await;
    assert!(refused(status, &body).contains("overlaps leave request"), "{body}");
    // Tuesday alone is free.
    let (status, body) = h.request_leave(&pick.body(tuesday, tuesday, 1, 1)).await;
    let tuesday_afternoon = created(status, &body);

    let listed = h.listed(&pick.employee, monday, wednesday).await;
    let count = |id: &str| listed.iter().find(|r| r["id"] == id).expect("listed")["selection"][0]["count"].clone();
    assert_eq!(listed.len(), 4, "{listed:?}");
    assert_eq!(
        [count(&first_half), count(&second_half), count(&full_day), count(&tuesday_afternoon)],
        [json!(0.5), json!(0.5), json!(1.0), json!(0.5)]
    );
    let (_, _, after) = h.balance(&pick.employee, &pick.leave_type).await;
    assert_eq!(after, available - 2.5);
    h.shutdown().await;
}

#[tokio::test]
async fn pending_requests_hold_their_days_so_two_cannot_overbook_a_balance() {
    let h = Harness::start(config()).await;
    // A whole number of days, at most eight: the first request takes all but one over two weeks.
    let pick =
        Pick::find(&h.sandbox.tenant(), 3, |available| (2.0..=9.0).contains(&available) && available.fract() == 0.0);
    let (accrued, consumed, available) = h.balance(&pick.employee, &pick.leave_type).await;
    let all_but_one = available as u64 - 1;
    // The last of `all_but_one` weekdays from the Monday.
    let last =
        (0..14).map(|d| pick.day(d)).filter(|d| d.weekday().num_days_from_monday() < 5).nth(all_but_one as usize - 1);
    let (status, body) = h.request_leave(&pick.body(pick.monday, last.unwrap(), 0, 1)).await;
    created(status, &body);
    assert_eq!(h.balance(&pick.employee, &pick.leave_type).await, (accrued, consumed, 1.0));

    // Two more days do not fit in the one left, though the first request is only pending.
    let (week3_monday, week3_tuesday, week3_wednesday) = (pick.day(14), pick.day(15), pick.day(16));
    let (status, body) = h.request_leave(&pick.body(week3_monday, week3_tuesday, 0, 1)).await;
    let error = refused(status, &body);
    assert!(error.contains("insufficient balance") && error.contains("(1 available, 2 requested)"), "{error}");
    // The day left fits, and then nothing does.
    let (status, body) = h.request_leave(&pick.body(week3_monday, week3_monday, 0, 1)).await;
    created(status, &body);
    assert_eq!(h.balance(&pick.employee, &pick.leave_type).await, (accrued, consumed, 0.0));
    let (status, body) = h.request_leave(&pick.body(week3_wednesday, week3_wednesday, 0, 0)).await;
    assert!(refused(status, &body).contains("(0 available, 0.5 requested)"), "{body}");

    let t = h.sandbox.tenant();
    let b = t.leave_balances[pick.index].iter().find(|b| t.leave_types[b.leave_type].id.to_string() == pick.leave_type);
    assert_eq!(b.map(|b| b.pending), Some(available), "every day held, none consumed");
    h.shutdown().await;
}

#[tokio::test]
async fn a_lost_answer_still_files_the_request_and_a_retry_files_nothing_more() {
    let h = Harness::start(config()).await;
    let generated = h.sandbox.tenant().leave_requests.len();
    let pick = Pick::find(&h.sandbox.tenant(), 1, |available| available >= 2.0);
    let body = pick.body(pick.monday, pick.monday, 0, 1);
    // Through the admin route, as a test of another process would.
    let faults = format!("{}/__sandbox/faults", h.origin());
    let put = h.client.put(&faults).json(&json!({"commit_then_fail_rate": 1.0})).send().await.unwrap();
    assert_eq!(put.status(), 200);

    let (status, answer) = h.request_leave(&body).await;
    assert_eq!(status, 500, "{answer}");
    assert_eq!((&answer["succeeded"], &answer["message"]), (&json!(false), &json!("An Error Occured")));
    assert!(answer["data"].is_null());
    // Reads are answered as usual, and the request is there.
    let listed = h.listed(&pick.employee, pick.monday, pick.monday).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["status"], 0);

    // A retry of the same request finds it standing: refused as an overlap (behind the lost
    // answer while the fault is on, in the open once it is off), never filed twice.
    let (status, _) = h.request_leave(&body).await;
    assert_eq!(status, 500);
    h.sandbox.set_faults(FaultConfig::default());
    let (status, answer) = h.request_leave(&body).await;
    assert!(
        refused(status, &answer).contains(&format!("overlaps leave request {}", listed[0]["id"].as_str().unwrap()))
    );
    assert_eq!(h.listed(&pick.employee, pick.monday, pick.monday).await.len(), 1);
    assert_eq!(filed(&h, generated), 1);

    // With a delay past the client's timeout, the client gets no answer at all, and the
    // request is filed all the same.
    h.sandbox.set_faults(FaultConfig {
        commit_then_fail_rate: 1.0,
        commit_then_fail_delay: Duration::from_secs(30),
        ..FaultConfig::default()
    });
    let tuesday = pick.body(pick.day(1), pick.day(1), 0, 1);
    let sent = h
        .client
        .post(format!("{}{LEAVE}", h.origin()))
        .header(AUTHORIZATION, format!("Bearer {}", h.token))
        .json(&tuesday)
        .timeout(Duration::from_secs(1))
        .send()
        .await;
    assert!(sent.expect_err("no answer in time").is_timeout());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while filed(&h, generated) < 2 {
        assert!(tokio::time::Instant::now() < deadline, "the write within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(h.listed(&pick.employee, pick.day(1), pick.day(1)).await.len(), 1);
    // Reads never lose their answer, fault or not.
    assert_eq!(h.get(LEAVE).await.status(), 200);
    h.shutdown().await;
}

#[tokio::test]
async fn writes_need_a_token_and_spend_the_budget() {
    let h = Harness::start(SandboxConfig {
        rate_limit_per_minute: 1,
        rate_limit_window: Duration::from_secs(3600),
        ..config()
    })
    .await;
    let generated = h.sandbox.tenant().leave_requests.len();
    let pick = Pick::find(&h.sandbox.tenant(), 1, |available| available >= 2.0);
    let url = format!("{}{LEAVE}", h.origin());
    let body = pick.body(pick.monday, pick.monday, 0, 1);
    for auth in [None, Some("Bearer not-a-token")] {
        let mut request = h.client.post(&url).json(&body);
        if let Some(auth) = auth {
            request = request.header(AUTHORIZATION, auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert!(response.bytes().await.unwrap().is_empty());
    }
    assert_eq!(filed(&h, generated), 0, "nothing filed");

    // The budget of one request is still there after the 401s; the write spends it.
    let (status, answer) = h.request_leave(&body).await;
    created(status, &answer);
    let (status, answer) = h.request_leave(&pick.body(pick.day(1), pick.day(1), 0, 1)).await;
    assert_eq!(status, 429, "{answer}");
    assert_eq!(filed(&h, generated), 1);

    let stats = h.sandbox.stats();
    let post = |status: u16| {
        stats.by_route.iter().find(|r| r.method == "POST" && r.route == LEAVE && r.status == status).map(|r| r.count)
    };
    assert_eq!((post(401), post(200), post(429)), (Some(2), Some(1), Some(1)));
    h.shutdown().await;
}

#[tokio::test]
async fn a_filed_request_is_announced_like_the_hr_teams_leave() {
    let (url, mut rx, server) = receiver().await;
    let h = Harness::start(SandboxConfig { webhook_url: Some(url.parse().unwrap()), ..config() }).await;
    let t = h.sandbox.tenant();
    let pick = Pick::find(&t, 1, |available| available >= 2.0);
    let e = &t.employees[pick.index];
    let leave_type = t.leave_types.iter().find(|lt| lt.id.to_string() == pick.leave_type).unwrap();

    let (status, answer) = h.request_leave(&pick.body(pick.monday, pick.day(1), 0, 1)).await;
    created(status, &answer);
    let hook = next_webhook(&mut rx).await;
    let form = |k: &str| hook.form.get(k).map(String::as_str);
    assert_eq!(form("eventType"), Some("LeaveRequested"));
    assert_eq!(form("employeeIndentifier"), Some(pick.employee.as_str()));
    assert_eq!(form("employeeNumber"), Some(e.employee_number.as_str()));
    assert_eq!(form("leaveType"), Some(leave_type.name.as_str()));
    assert_eq!(form("fromDate"), Some(pick.monday.format("%b %d, %Y").to_string().as_str()));
    assert_eq!(form("toDate"), Some(pick.day(1).format("%b %d, %Y").to_string().as_str()));
    assert_eq!(form("updatedBy"), Some(e.display_name.as_str()), "asked by the employee");

    // A refused request announces nothing; a request made on someone's behalf names who asked.
    let (status, answer) = h.request_leave(&pick.body(pick.monday, pick.monday, 0, 1)).await;
    refused(status, &answer);
    let manager = &t.employees[e.reports_to.expect("not the CEO")];
    let mut body = pick.body(pick.day(2), pick.day(2), 0, 1);
    body["requestedBy"] = json!(manager.id.to_string());
    let (status, answer) = h.request_leave(&body).await;
    created(status, &answer);
    let hook = next_webhook(&mut rx).await;
    assert_eq!(hook.form.get("toDate").map(String::as_str), Some(pick.day(2).format("%b %d, %Y").to_string().as_str()));
    assert_eq!(hook.form.get("updatedBy"), Some(&manager.display_name));
    h.shutdown().await;
    server.abort();
}

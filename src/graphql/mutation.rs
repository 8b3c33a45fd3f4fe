//! Writes: `requestTimeoff`, Keka's `POST /time/leaverequests`.
//!
//! A write is the one thing here that must not happen twice, so it is sent at most once where Keka may have applied
//! it (the Keka client never resends a write that timed out, broke off or met a 5xx: [`KekaError::Unconfirmed`]).
//! When Keka's answer is lost, the caller's leave is read back to find out whether the request was filed. An
//! `idempotencyKey` makes a retry safe across requests and replicas: its first answer is kept (in Redis for the
//! fleet), and a retry gets it instead of a second request.
//!
//! Who may write: with router authentication on, a caller holding `write:timeoff`, for themselves (their email, as
//! the router vouches for it, matched to an employee), or for anyone with `write:timeoff:any`. With router
//! authentication off, anyone, if `ALLOW_UNAUTHENTICATED_WRITES` is on (the embedded sandbox's default), else no one.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{NaiveDate, Utc};

use super::access_control::{Caller, CallerScopes};
use super::context::graph;
use super::error::{bad_user_input, code, coded, from_keka};
use super::scalars::Date;
use super::types::employee::Employee;
use super::types::enums::DaySession;
use super::types::time::TimeoffRequest;
use crate::keka::models::{self as keka, KekaDate, LeaveApplication, LeaveRequestStatus, LeaveSession};
use crate::keka::{KekaError, OrgSync};
use crate::store::{Claim, WriteLedger, digest_hex};

/// The scope a caller needs to request time off (router authentication on).
pub const WRITE_TIMEOFF_SCOPE: &str = "write:timeoff";
/// The scope that lets a caller request time off for someone else.
pub const WRITE_TIMEOFF_ANY_SCOPE: &str = "write:timeoff:any";

/// Longest `reason` accepted (Keka documents none; a leave form's note, not a document).
const MAX_REASON_CHARS: usize = 1000;
/// Longest `idempotencyKey` accepted (a UUID is 36).
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;
/// Longest span of one request, both ends counted: Keka's leave windows are 90 days, and so is the sandbox's rule.
const MAX_SPAN_DAYS: i64 = 90;

/// What writes need beyond reads: the ledger of idempotency keys, the sync (which tells every replica that
/// someone's leave changed), and whether writes run without router authentication.
#[derive(Debug, Clone)]
pub struct Writes {
    pub ledger: Arc<WriteLedger>,
    pub sync: Arc<OrgSync>,
    pub allow_unauthenticated: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Mutation;

/// A request for time off, as Keka's leave form takes it.
#[derive(Debug, Clone, InputObject)]
pub struct RequestTimeoffInput {
    /// Who takes the time off (Keka's employee id).
    pub employee_id: ID,
    /// A `TimeoffType` id.
    pub leave_type_id: ID,
    /// The first day.
    pub from: Date,
    /// The last day (the same as `from` for one day).
    pub to: Date,
    /// The half of the first day it starts on: `SECOND_HALF` leaves the morning worked.
    #[graphql(default_with = "DaySession::FirstHalf")]
    pub from_session: DaySession,
    /// The half of the last day it ends on: `FIRST_HALF` leaves the afternoon worked.
    #[graphql(default_with = "DaySession::SecondHalf")]
    pub to_session: DaySession,
    /// Why, as the employee would write it on Keka's form.
    pub reason: Option<String>,
    /// Any unique text (a UUID): a retry with the same key and input returns the first answer and files nothing
    /// more, for a day, across every replica. The same key with another input is refused.
    pub idempotency_key: Option<String>,
}

#[Object]
impl Mutation {
    /// Files a time-off request in Keka, pending approval, and returns it. Keka refusing it (an overlap, no
    /// balance, a closed period) is `BAD_USER_INPUT` with Keka's reason; Keka failing is `UPSTREAM_*`. Needs the
    /// `write:timeoff` scope (and `write:timeoff:any` to ask for someone else) when router authentication is on.
    async fn request_timeoff(&self, ctx: &Context<'_>, input: RequestTimeoffInput) -> Result<TimeoffRequest> {
        let (application, key) = checked(&input)?;
        let caller = ctx.data_opt::<Caller>().unwrap_or(&Caller::UNCHECKED);
        let requested_by = authorize(ctx, caller, &application.employee_id).await?;
        let application = LeaveApplication { requested_by, ..application };
        let writes = &graph(ctx).writes;
        let Some(key) = key else {
            return file(ctx, &application).await.map_err(Failure::into_error);
        };
        let fingerprint = fingerprint(&application, caller.email.as_deref());
        let claim = writes.ledger.claim(&key, &fingerprint).await.map_err(|_| {
            coded(
                code::SHARED_STATE_UNAVAILABLE,
                "the idempotency key cannot be checked while the fleet's shared state is unreachable; retry shortly",
            )
        })?;
        match claim {
            Claim::Settled(outcome) => Outcome::read(&outcome).answer(&application),
            Claim::Mismatch => Err(bad_user_input("this idempotencyKey was used with another input")),
            Claim::InFlight => Err(coded(
                code::CONFLICT,
                "a request with this idempotencyKey is under way; retry with the same key once it has finished",
            )),
            // Its write may have happened: look before filing.
            Claim::Unsure => {
                let attempt = match find_filed(ctx, &application).await {
                    Ok(Some(found)) => Ok(TimeoffRequest(found)),
                    Ok(None) => file(ctx, &application).await,
                    Err(error) => Err(Failure::Unknown(error)),
                };
                record(ctx, &key, &application, attempt).await
            }
            Claim::Fresh => record(ctx, &key, &application, file(ctx, &application).await).await,
        }
    }
}

/// Records under a claimed key what came of its write, and answers with it.
async fn record(
    ctx: &Context<'_>,
    key: &str,
    application: &LeaveApplication,
    attempt: Result<TimeoffRequest, Failure>,
) -> Result<TimeoffRequest> {
    let ledger = &graph(ctx).writes.ledger;
    match attempt {
        Ok(filed) => {
            ledger.settle(key, &Outcome::Filed(filed.0.id.clone()).write()).await;
            Ok(filed)
        }
        Err(Failure::Refused(messages)) => {
            let outcome = Outcome::Refused(messages);
            ledger.settle(key, &outcome.write()).await;
            outcome.answer(application)
        }
        Err(failure @ Failure::NotFiled(_)) => {
            ledger.release(key).await;
            Err(failure.into_error())
        }
        Err(failure @ Failure::Unknown(_)) => {
            ledger.give_up_unsure(key).await;
            Err(failure.into_error())
        }
    }
}

/// How a write that did not file a request ended.
enum Failure {
    /// Keka refused it, with its reasons.
    Refused(Vec<String>),
    /// It surely was not filed (refused before it was sent, or read back and not there).
    NotFiled(async_graphql::Error),
    /// Whether it was filed is unknown: Keka's answer was lost and reading back failed too.
    Unknown(KekaError),
}

impl Failure {
    fn into_error(self) -> async_graphql::Error {
        match self {
            Self::Refused(messages) => refused(&messages),
            Self::NotFiled(error) => error,
            Self::Unknown(error) => {
                tracing::warn!(%error, "a time-off request's fate is unknown");
                coded(
                    code::UPSTREAM_UNAVAILABLE,
                    "Keka did not confirm the request and it could not be read back: it may have been filed. Retry \
                     with the same idempotencyKey to find out, or look at the employee's time off before retrying",
                )
            }
        }
    }
}

/// Sends the request once; when Keka's answer is lost, reads the employee's leave back to find it.
async fn file(ctx: &Context<'_>, application: &LeaveApplication) -> Result<TimeoffRequest, Failure> {
    let context = graph(ctx);
    let sent = context.keka.client().request_leave(application).await;
    if sent.is_ok() {
        // The next read of this employee's leave and balances, here or at any replica, asks Keka.
        context.writes.sync.leave_changed(Some(&application.employee_id)).await;
    }
    match sent {
        Ok(id) => Ok(TimeoffRequest(Arc::new(pending_request(id, application)))),
        Err(KekaError::Upstream { status, errors, .. }) if status < 500 && status != 429 => {
            Err(Failure::Refused(errors))
        }
        Err(KekaError::Unconfirmed { .. }) => match find_filed(ctx, application).await {
            Ok(Some(found)) => Ok(TimeoffRequest(found)),
            Ok(None) => Err(Failure::NotFiled(coded(
                code::UPSTREAM_UNAVAILABLE,
                "Keka failed before filing the request; nothing was filed, so retrying is safe",
            ))),
            Err(error) => Err(Failure::Unknown(error)),
        },
        Err(error) => Err(Failure::NotFiled(from_keka(&error))),
    }
}

/// The employee's standing request that this application would have filed, read from Keka now (past every cache:
/// the leave change was just marked). Standing: pending, in approval or approved; a request Keka refused to file
/// cannot be there, and one that already stood would have made Keka refuse this one as an overlap.
async fn find_filed(
    ctx: &Context<'_>,
    application: &LeaveApplication,
) -> Result<Option<Arc<keka::LeaveRequest>>, KekaError> {
    let context = graph(ctx);
    context.writes.sync.leave_changed(Some(&application.employee_id)).await;
    let employee = [application.employee_id.clone()];
    let requests = context.keka.leave_requests(&employee, application.from_date, application.to_date).await?;
    Ok(requests.iter().find(|request| is_filed_by(request, application)).cloned())
}

fn is_filed_by(request: &keka::LeaveRequest, application: &LeaveApplication) -> bool {
    let standing = matches!(
        request.status,
        Some(LeaveRequestStatus::Pending | LeaveRequestStatus::InApprovalProcess | LeaveRequestStatus::Approved)
    );
    standing
        && request.employee_identifier.as_deref() == Some(application.employee_id.as_str())
        && request.from_date.map(KekaDate::date) == Some(application.from_date)
        && request.to_date.map(KekaDate::date) == Some(application.to_date)
        && request.from_session.unwrap_or(LeaveSession::FirstHalf) == application.from_session
        && request.to_session.unwrap_or(LeaveSession::SecondHalf) == application.to_session
        && request
            .selection
            .iter()
            .any(|selection| selection.leave_type_identifier.as_deref() == Some(application.leave_type_id.as_str()))
}

/// The request Keka just filed, as Keka lists a new one: pending, requested now. Built here rather than read back,
/// so a write costs Keka one request; the next read of the employee's leave asks Keka (the write marked it).
fn pending_request(id: String, application: &LeaveApplication) -> keka::LeaveRequest {
    let midnight = |date: NaiveDate| KekaDate(date.and_time(chrono::NaiveTime::MIN).and_utc());
    keka::LeaveRequest {
        id,
        employee_identifier: Some(application.employee_id.clone()),
        employee_number: None,
        from_date: Some(midnight(application.from_date)),
        to_date: Some(midnight(application.to_date)),
        from_session: Some(application.from_session),
        to_session: Some(application.to_session),
        requested_on: Some(KekaDate(Utc::now())),
        last_action_taken_on: None,
        note: None,
        status: Some(LeaveRequestStatus::Pending),
        cancel_reject_reason: None,
        selection: vec![keka::LeaveSelection {
            leave_type_identifier: Some(application.leave_type_id.clone()),
            leave_type_name: None,
            count: None,
            duration: None,
        }],
        // Keka's own record comes with the next read of the employee's leave.
        raw: keka::RawRecord::default(),
    }
}

/// What a key's write came to, as the ledger keeps it (no personal data: an id, or Keka's reasons).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Filed(String),
    Refused(Vec<String>),
}

impl Outcome {
    fn write(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// An outcome the ledger holds; one it cannot read (written by another version) reads as a refusal to guess.
    fn read(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_else(|_| {
            tracing::error!("an idempotency key's outcome is unreadable");
            Self::Refused(vec!["this idempotencyKey's first answer cannot be read; use a new key".to_owned()])
        })
    }

    fn answer(self, application: &LeaveApplication) -> Result<TimeoffRequest> {
        match self {
            Self::Filed(id) => Ok(TimeoffRequest(Arc::new(pending_request(id, application)))),
            Self::Refused(messages) => Err(refused(&messages)),
        }
    }
}

/// Keka's refusal, its reasons shown (they speak of the request: dates, balance, overlap), each bounded.
fn refused(messages: &[String]) -> async_graphql::Error {
    let shown: Vec<String> = messages
        .iter()
        .take(5)
        .map(|message| message.chars().filter(|c| !c.is_control()).take(300).collect::<String>())
        .filter(|message| !message.trim().is_empty())
        .collect();
    let text = if shown.is_empty() {
        "Keka refused the time-off request".to_owned()
    } else {
        format!("Keka refused the time-off request: {}", shown.join("; "))
    };
    bad_user_input(text)
}

/// The input, checked before anything is spent: Keka's own rules (balance, overlap, working days) stay Keka's.
fn checked(input: &RequestTimeoffInput) -> Result<(LeaveApplication, Option<String>)> {
    let (from, to) = (input.from.0, input.to.0);
    let employee_id = input.employee_id.trim();
    let leave_type_id = input.leave_type_id.trim();
    if employee_id.is_empty() || leave_type_id.is_empty() {
        return Err(bad_user_input("employeeId and leaveTypeId must not be empty"));
    }
    if from > to {
        return Err(bad_user_input(format!("`from` ({from}) is after `to` ({to})")));
    }
    if (to - from).num_days() + 1 > MAX_SPAN_DAYS {
        return Err(bad_user_input(format!("one request covers at most {MAX_SPAN_DAYS} days")));
    }
    let session = |session: DaySession, name: &str| match session {
        DaySession::FirstHalf => Ok(LeaveSession::FirstHalf),
        DaySession::SecondHalf => Ok(LeaveSession::SecondHalf),
        DaySession::Unknown => Err(bad_user_input(format!("`{name}` must be FIRST_HALF or SECOND_HALF"))),
    };
    let (from_session, to_session) =
        (session(input.from_session, "fromSession")?, session(input.to_session, "toSession")?);
    if from == to && from_session == LeaveSession::SecondHalf && to_session == LeaveSession::FirstHalf {
        return Err(bad_user_input("on one day, a request cannot start in the second half and end in the first"));
    }
    let reason = input.reason.as_deref().map(str::trim).filter(|reason| !reason.is_empty());
    if reason.is_some_and(|reason| reason.chars().count() > MAX_REASON_CHARS) {
        return Err(bad_user_input(format!("`reason` is longer than {MAX_REASON_CHARS} characters")));
    }
    let key = match input.idempotency_key.as_deref().map(str::trim) {
        None => None,
        Some(key) if key.is_empty() || key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS => {
            return Err(bad_user_input(format!(
                "`idempotencyKey` must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters"
            )));
        }
        Some(key) => Some(key.to_owned()),
    };
    let application = LeaveApplication {
        employee_id: employee_id.to_owned(),
        requested_by: None,
        from_date: from,
        to_date: to,
        from_session,
        to_session,
        leave_type_id: leave_type_id.to_owned(),
        reason: reason.map(str::to_owned),
        note: None,
    };
    Ok((application, key))
}

/// Whether `caller` may request time off for `employee_id`, and who asks on the employee's behalf (`requestedBy`),
/// when the caller is someone else Keka knows.
async fn authorize(ctx: &Context<'_>, caller: &Caller, employee_id: &str) -> Result<Option<String>> {
    let forbidden = |message: String| coded(code::FORBIDDEN, message);
    let CallerScopes::Granted(scopes) = &caller.scopes else {
        if graph(ctx).writes.allow_unauthenticated {
            return Ok(None);
        }
        return Err(forbidden(
            "writes are off: router authentication is off and ALLOW_UNAUTHENTICATED_WRITES is not set".to_owned(),
        ));
    };
    if !scopes.contains(WRITE_TIMEOFF_SCOPE) {
        return Err(forbidden(format!("requesting time off needs the `{WRITE_TIMEOFF_SCOPE}` scope")));
    }
    let acting_for_anyone = scopes.contains(WRITE_TIMEOFF_ANY_SCOPE);
    let Some(email) = caller.email.as_deref() else {
        if acting_for_anyone {
            return Ok(None);
        }
        return Err(forbidden(format!(
            "the router passed no email for the caller, so whose time off they may request is unknown (or grant \
             `{WRITE_TIMEOFF_ANY_SCOPE}`)"
        )));
    };
    let me = Employee::load_by_email(ctx, email).await?;
    match me {
        Some(me) if me.0.id == employee_id => Ok(None),
        Some(me) if acting_for_anyone => Ok(Some(me.0.id.clone())),
        None if acting_for_anyone => Ok(None),
        Some(_) => Err(forbidden(format!(
            "a caller may request time off only for themselves without the `{WRITE_TIMEOFF_ANY_SCOPE}` scope"
        ))),
        None => Err(forbidden("the caller's email matches no employee in Keka".to_owned())),
    }
}

/// What makes two writes the same write: the application and who asked for it (a key is the caller's own).
fn fingerprint(application: &LeaveApplication, caller_email: Option<&str>) -> String {
    let mut input = serde_json::to_vec(application).unwrap_or_default();
    input.push(0);
    input.extend_from_slice(caller_email.unwrap_or_default().to_lowercase().as_bytes());
    digest_hex(&input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> RequestTimeoffInput {
        RequestTimeoffInput {
            employee_id: ID::from("e1"),
            leave_type_id: ID::from("t1"),
            from: Date(NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()),
            to: Date(NaiveDate::from_ymd_opt(2026, 12, 8).unwrap()),
            from_session: DaySession::FirstHalf,
            to_session: DaySession::SecondHalf,
            reason: Some("  family  ".to_owned()),
            idempotency_key: Some("k-1".to_owned()),
        }
    }

    #[test]
    fn the_input_is_checked_before_anything_is_spent() {
        let (application, key) = checked(&input()).unwrap();
        assert_eq!(application.reason.as_deref(), Some("family"));
        assert_eq!(key.as_deref(), Some("k-1"));
        let bad = [
            RequestTimeoffInput { to: Date(NaiveDate::from_ymd_opt(2026, 12, 6).unwrap()), ..input() },
            RequestTimeoffInput { to: Date(NaiveDate::from_ymd_opt(2027, 3, 7).unwrap()), ..input() },
            RequestTimeoffInput { from_session: DaySession::Unknown, ..input() },
            RequestTimeoffInput { employee_id: ID::from(" "), ..input() },
            RequestTimeoffInput { idempotency_key: Some(String::new()), ..input() },
            RequestTimeoffInput { idempotency_key: Some("k".repeat(256)), ..input() },
            RequestTimeoffInput { reason: Some("r".repeat(1001)), ..input() },
            RequestTimeoffInput {
                to: input().from,
                from_session: DaySession::SecondHalf,
                to_session: DaySession::FirstHalf,
                ..input()
            },
        ];
        for input in bad {
            let error = checked(&input).unwrap_err();
            let code = error.extensions.as_ref().and_then(|extensions| extensions.get("code")).cloned();
            assert_eq!(code, Some(async_graphql::Value::from(code::BAD_USER_INPUT)), "{input:?}: {}", error.message);
        }
    }

    #[test]
    fn a_fingerprint_tells_inputs_and_callers_apart() {
        let (application, _) = checked(&input()).unwrap();
        let same = fingerprint(&application, Some("A@x.io"));
        assert_eq!(same, fingerprint(&application, Some("a@x.io")));
        assert_ne!(same, fingerprint(&application, Some("b@x.io")));
        let longer = LeaveApplication { to_date: NaiveDate::from_ymd_opt(2026, 12, 9).unwrap(), ..application };
        assert_ne!(same, fingerprint(&longer, Some("a@x.io")));
    }

    #[test]
    fn an_outcome_survives_the_ledger_and_an_unreadable_one_is_not_guessed() {
        for outcome in [Outcome::Filed("id-1".to_owned()), Outcome::Refused(vec!["No balance".to_owned()])] {
            assert_eq!(Outcome::read(&outcome.write()), outcome);
        }
        assert!(matches!(Outcome::read("garbage"), Outcome::Refused(_)));
    }

    #[test]
    fn keka_reasons_are_shown_bounded_and_without_control_characters() {
        let error = refused(&["Overlaps\u{7}".to_owned(), "x".repeat(400)]);
        assert!(error.message.starts_with("Keka refused the time-off request: Overlaps; "));
        assert!(error.message.chars().count() < 400);
        assert_eq!(refused(&[]).message, "Keka refused the time-off request");
    }
}

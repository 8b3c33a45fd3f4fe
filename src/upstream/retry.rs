//! When to try an upstream call again, and how long to wait first. Pure functions: the loops that
//! sleep and resend live in the clients (Keka's, Keeper's), so every rule here is table-tested without a clock.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// What happened on one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The upstream answered with this status (and maybe a `Retry-After`).
    Status { status: u16, retry_after: Option<Duration> },
    /// No answer within the request timeout.
    Timeout,
    /// The connection failed or broke before a full answer arrived.
    Connection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    RetryAfter(Duration),
    GiveUp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// The upstream's quota window: a 429 without `Retry-After` waits this long, because the
    /// budget is only sure to be refilled once a whole window has passed.
    pub rate_limit_window: Duration,
    /// A 429 asking for a longer wait than this is given up on.
    pub max_wait: Duration,
}

/// Decides what to do after an attempt. `retries_done` counts earlier retries (0 after the
/// first attempt); `jitter` is a random number in `[0, 1)` that spreads concurrent retries.
pub fn decide(policy: &RetryPolicy, retries_done: u32, outcome: AttemptOutcome, jitter: f64) -> Decision {
    let retryable_failure = match outcome {
        AttemptOutcome::Status { status: 429, retry_after } => {
            if retries_done >= policy.max_retries {
                return Decision::GiveUp;
            }
            let wait = retry_after.unwrap_or(policy.rate_limit_window);
            return if wait > policy.max_wait { Decision::GiveUp } else { Decision::RetryAfter(wait) };
        }
        AttemptOutcome::Status { status, .. } => (500..=599).contains(&status) && status != 501,
        AttemptOutcome::Timeout | AttemptOutcome::Connection => true,
    };
    if !retryable_failure || retries_done >= policy.max_retries {
        return Decision::GiveUp;
    }
    Decision::RetryAfter(backoff(policy, retries_done, jitter))
}

/// Exponential back-off with "equal jitter": between half and all of `base * 2^retries`, capped.
pub fn backoff(policy: &RetryPolicy, retries_done: u32, jitter: f64) -> Duration {
    let factor = 2u32.saturating_pow(retries_done.min(16));
    let full = policy.backoff_base.saturating_mul(factor).min(policy.backoff_max);
    // `NaN` (never drawn, but an `f64` all the same) reads as no jitter instead of panicking in the conversion.
    let jitter = if jitter.is_nan() { 0.0 } else { jitter.clamp(0.0, 1.0) };
    // Through `f64` the product can round a nanosecond past `full`, or past `Duration::MAX`: cap it again.
    Duration::try_from_secs_f64(full.as_secs_f64() * (0.5 + jitter / 2.0)).map_or(full, |wait| wait.min(full))
}

/// Reads a `Retry-After` header: either delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_retries: 3,
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_secs(1),
        rate_limit_window: Duration::from_secs(60),
        max_wait: Duration::from_secs(90),
    };

    fn status(status: u16) -> AttemptOutcome {
        AttemptOutcome::Status { status, retry_after: None }
    }

    #[test]
    fn decisions_follow_the_table() {
        let ms = Duration::from_millis;
        let cases: &[(&str, u32, AttemptOutcome, f64, Decision)] = &[
            (
                "429 honours Retry-After",
                0,
                AttemptOutcome::Status { status: 429, retry_after: Some(ms(7000)) },
                0.3,
                Decision::RetryAfter(ms(7000)),
            ),
            (
                "429 without Retry-After waits a window",
                0,
                status(429),
                0.3,
                Decision::RetryAfter(Duration::from_secs(60)),
            ),
            (
                "429 asking too long gives up",
                0,
                AttemptOutcome::Status { status: 429, retry_after: Some(Duration::from_secs(3600)) },
                0.0,
                Decision::GiveUp,
            ),
            ("429 after the last retry gives up", 3, status(429), 0.0, Decision::GiveUp),
            ("500 backs off", 0, status(500), 1.0, Decision::RetryAfter(ms(100))),
            ("502 backs off longer the second time", 1, status(502), 1.0, Decision::RetryAfter(ms(200))),
            ("503 with no jitter waits half", 2, status(503), 0.0, Decision::RetryAfter(ms(200))),
            ("504 after the last retry gives up", 3, status(504), 0.5, Decision::GiveUp),
            ("501 is not transient", 0, status(501), 0.5, Decision::GiveUp),
            ("timeout backs off", 0, AttemptOutcome::Timeout, 1.0, Decision::RetryAfter(ms(100))),
            ("connection error backs off", 2, AttemptOutcome::Connection, 1.0, Decision::RetryAfter(ms(400))),
            ("400 is final", 0, status(400), 0.5, Decision::GiveUp),
            ("401 is final here (the client refreshes the token itself)", 0, status(401), 0.5, Decision::GiveUp),
            ("403 is final", 0, status(403), 0.5, Decision::GiveUp),
            ("404 is final", 0, status(404), 0.5, Decision::GiveUp),
            ("200 is final", 0, status(200), 0.5, Decision::GiveUp),
        ];
        for (name, retries_done, outcome, jitter, expected) in cases {
            assert_eq!(decide(&POLICY, *retries_done, *outcome, *jitter), *expected, "{name}");
        }
    }

    #[test]
    fn backoff_is_capped() {
        assert_eq!(backoff(&POLICY, 10, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(&POLICY, u32::MAX, 1.0), Duration::from_secs(1));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse_retry_after("12", now), Some(Duration::from_secs(12)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}

/// Properties: no header text panics, back-off stays under its cap, a 429 never waits longer than allowed.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Durations from zero to `Duration::MAX`, with the small ones (what configurations use) well represented.
    fn duration() -> impl Strategy<Value = Duration> {
        prop_oneof![
            3 => (0..120_000u64).prop_map(Duration::from_millis),
            1 => any::<u64>().prop_map(Duration::from_nanos),
            1 => (any::<u64>(), 0..1_000_000_000u32).prop_map(|(secs, nanos)| Duration::new(secs, nanos)),
            1 => Just(Duration::ZERO),
            1 => Just(Duration::MAX),
        ]
    }

    fn policy() -> impl Strategy<Value = RetryPolicy> {
        (any::<u32>(), duration(), duration(), duration(), duration()).prop_map(
            |(max_retries, backoff_base, backoff_max, rate_limit_window, max_wait)| RetryPolicy {
                max_retries: max_retries % 12,
                backoff_base,
                backoff_max,
                rate_limit_window,
                max_wait,
            },
        )
    }

    /// Any `f64`, not only the `[0, 1)` that `rand::random` gives.
    fn jitter() -> impl Strategy<Value = f64> {
        prop_oneof![
            3 => 0.0..1.0f64,
            1 => any::<f64>(),
            1 => prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 1.0, -1.0, f64::MAX]),
        ]
    }

    fn outcome() -> impl Strategy<Value = AttemptOutcome> {
        prop_oneof![
            (any::<u16>(), prop::option::of(duration()))
                .prop_map(|(status, retry_after)| AttemptOutcome::Status { status, retry_after }),
            prop::option::of(duration()).prop_map(|retry_after| AttemptOutcome::Status { status: 429, retry_after }),
            Just(AttemptOutcome::Timeout),
            Just(AttemptOutcome::Connection),
        ]
    }

    /// Texts near both forms of the header: delay-seconds (signs, spaces, overflow) and HTTP dates (odd days,
    /// months, years, zones).
    fn retry_after_text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[ \t]{0,2}[-+]?[0-9]{1,25}(\\.[0-9]{1,3})?[ \t]{0,2}",
            "(Mon|Tue|Wed|Thu|Fri|Sat|Sun|Xyz), [0-9]{1,3} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Foo) \
             [0-9]{1,6} [0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})? (GMT|UT|UTC|EST|PDT|Z|[+-][0-9]{4})",
            "[0-9]{1,2} (Jan|Feb|Dec) [0-9]{2,4} [0-9]{2}:[0-9]{2} [+-][0-9]{4}",
        ]
    }

    /// Any instant chrono can represent.
    fn now() -> impl Strategy<Value = DateTime<Utc>> {
        prop_oneof![
            (1_400_000_000..2_100_000_000i64).prop_map(|secs| DateTime::from_timestamp(secs, 0).unwrap()),
            (-8_000_000_000_000..8_000_000_000_000i64).prop_map(|secs| DateTime::from_timestamp(secs, 0).unwrap()),
            Just(DateTime::<Utc>::MIN_UTC),
            Just(DateTime::<Utc>::MAX_UTC),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_retry_after_text_parses_or_is_ignored(text in retry_after_text(), now in now()) {
            let parsed = parse_retry_after(&text, now);
            if let Ok(seconds) = text.trim().parse::<u64>() {
                prop_assert_eq!(parsed, Some(Duration::from_secs(seconds)));
            }
            if let Ok(at) = DateTime::parse_from_rfc2822(text.trim())
                && at <= now
            {
                prop_assert_eq!(parsed, Some(Duration::ZERO));
            }
        }

        #[test]
        fn back_off_never_exceeds_its_cap(policy in policy(), retries_done in any::<u32>(), jitter in jitter()) {
            let wait = backoff(&policy, retries_done, jitter);
            prop_assert!(wait <= policy.backoff_max, "{:?} > {:?}", wait, policy.backoff_max);
            // Equal jitter: at least half the capped exponential step (within a microsecond of f64 rounding).
            let step = policy.backoff_base.saturating_mul(2u32.saturating_pow(retries_done.min(16)));
            let full = step.min(policy.backoff_max);
            prop_assert!(wait <= full, "{:?} > {:?}", wait, full);
            if (0.0..1.0).contains(&jitter) && full <= Duration::from_secs(86_400) {
                prop_assert!(wait + Duration::from_micros(1) >= full / 2, "{:?} < half of {:?}", wait, full);
            }
        }

        #[test]
        fn decisions_respect_the_policy(
            policy in policy(),
            retries_done in 0..16u32,
            outcome in outcome(),
            jitter in jitter(),
        ) {
            let decision = decide(&policy, retries_done, outcome, jitter);
            if retries_done >= policy.max_retries {
                prop_assert_eq!(decision, Decision::GiveUp);
            }
            match (outcome, decision) {
                (AttemptOutcome::Status { status: 429, retry_after }, Decision::RetryAfter(wait)) => {
                    prop_assert!(wait <= policy.max_wait, "429 waits {:?} > {:?}", wait, policy.max_wait);
                    prop_assert_eq!(wait, retry_after.unwrap_or(policy.rate_limit_window));
                }
                (AttemptOutcome::Status { status: 429, retry_after }, Decision::GiveUp) => {
                    let wanted = retry_after.unwrap_or(policy.rate_limit_window);
                    prop_assert!(retries_done >= policy.max_retries || wanted > policy.max_wait);
                }
                (AttemptOutcome::Status { status, .. }, Decision::RetryAfter(wait)) => {
                    prop_assert!((500..=599).contains(&status) && status != 501, "retried {}", status);
                    prop_assert!(wait <= policy.backoff_max);
                }
                (_, Decision::RetryAfter(wait)) => prop_assert!(wait <= policy.backoff_max),
                (_, Decision::GiveUp) => {}
            }
        }
    }
}

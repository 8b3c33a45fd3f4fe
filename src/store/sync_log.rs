//! The fleet's sync log: one replica (holding the sync lease) asks Keka what changed, and records each round here;
//! every replica reads the log and applies the rounds its snapshot lacks, reading the changes from the fleet's cache
//! of answers (where the leading replica's fetch put them), so a round costs Keka what it costs one process.
//!
//! - The lease is `SET NX PX` under one key, renewed by its holder each round: a leader that dies loses it within
//!   its term, and another replica takes over.
//! - The log is a Redis stream trimmed to [`KEPT_ROUNDS`]: with the default 30 s rounds, four hours of them. A replica
//!   whose snapshot is older than the log's first round catches up on its own (one delta of its own).
//! - A nudge (a webhook reached some replica) is a key the leader takes at its next look, a second later at most.
//! - Leave changes (a leave webhook reached some replica) are a second stream, which every replica reads after its
//!   last look: each then drops that person's windows of leave and attendance.
//! - Nothing secret is written: times, counts and employee ids only.

use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};

use super::millis;
use super::redis::RedisStore;

/// Rounds kept in the log.
const KEPT_ROUNDS: usize = 500;
/// Leave changes kept in theirs: more than arrive between two looks of any replica.
const KEPT_LEAVE_CHANGES: usize = 1000;

/// Someone's leave changed (a leave webhook reached some replica): every replica drops that person's windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveChange {
    /// Where the next look starts after.
    pub position: String,
    /// Keka's employee id; `None`: someone the replica that heard of it could not tell (every window then).
    pub employee_id: Option<String>,
    /// When it was recorded (Redis's clock).
    pub at: DateTime<Utc>,
}

/// One sync round: Keka's changes with `lastModified` at or after `since`, as they stood at `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncRound {
    pub kind: RoundKind,
    pub since: DateTime<Utc>,
    /// Taken before asking Keka: the round holds every change made before it.
    pub until: DateTime<Utc>,
    /// Whether the round also reloaded the small lists (groups, locations…), which followers then reload too.
    pub lists: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundKind {
    /// Changes since `since`.
    Delta,
    /// A walk of everyone, as of `until` (`since` is `until`).
    Full,
    /// Changes to the org's small lists (groups, departments, locations, job titles) since `since`.
    Lists,
}

impl RoundKind {
    fn name(self) -> &'static str {
        match self {
            Self::Delta => "delta",
            Self::Full => "full",
            Self::Lists => "lists",
        }
    }
}

/// Takes the lease (KEYS[1]) for ARGV[1], or renews it if ARGV[1] holds it, for ARGV[2] ms. 1 if held now.
const LEAD: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2])) return 1 end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2])) return 1 end
return 0
";

impl RedisStore {
    fn sync_key(&self, what: &str) -> String {
        format!("{}sync:{what}", self.prefix())
    }

    /// Whether this replica leads the sync for the next `term` (taking or renewing the lease); `None` while Redis
    /// is unreachable.
    pub(super) async fn lead_sync(&self, term: Duration) -> Option<bool> {
        static SCRIPT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| redis::Script::new(LEAD));
        let mut connection = self.connection();
        let mut invocation = SCRIPT.key(self.sync_key("lease"));
        invocation.arg(self.replica()).arg(millis(term).max(1));
        let held: Option<u8> = self.call("sync lease", invocation.invoke_async(&mut connection)).await;
        held.map(|held| held == 1)
    }

    pub(super) async fn record_round(&self, round: &SyncRound) {
        let mut connection = self.connection();
        let mut command = redis::cmd("XADD");
        command
            .arg(self.sync_key("log"))
            .arg("MAXLEN")
            .arg("~")
            .arg(KEPT_ROUNDS)
            .arg("*")
            .arg("kind")
            .arg(round.kind.name())
            .arg("since")
            .arg(round.since.timestamp_millis())
            .arg("until")
            .arg(round.until.timestamp_millis())
            .arg("lists")
            .arg(u8::from(round.lists));
        let _: Option<String> = self.call("sync log", command.query_async(&mut connection)).await;
    }

    /// The log, oldest round first; `None` while Redis is unreachable. Entries this version cannot read are skipped.
    pub(super) async fn rounds(&self) -> Option<Vec<SyncRound>> {
        let mut connection = self.connection();
        let mut command = redis::cmd("XRANGE");
        command.arg(self.sync_key("log")).arg("-").arg("+");
        let entries: Vec<(String, Vec<String>)> = self.call("sync log", command.query_async(&mut connection)).await?;
        Some(entries.into_iter().filter_map(|(_, fields)| parse_round(&fields)).collect())
    }

    pub(super) async fn nudge_sync(&self, expires: Duration) {
        let mut connection = self.connection();
        let mut command = redis::cmd("SET");
        command.arg(self.sync_key("nudge")).arg(1).arg("PX").arg(millis(expires).max(1));
        let _: Option<String> = self.call("sync nudge", command.query_async(&mut connection)).await;
    }

    pub(super) async fn take_sync_nudge(&self) -> bool {
        let mut connection = self.connection();
        let mut command = redis::cmd("GETDEL");
        command.arg(self.sync_key("nudge"));
        let taken: Option<Option<String>> = self.call("sync nudge", command.query_async(&mut connection)).await;
        taken.flatten().is_some()
    }

    pub(super) async fn record_leave_change(&self, employee_id: Option<&str>) {
        let mut connection = self.connection();
        let mut command = redis::cmd("XADD");
        command
            .arg(self.sync_key("leave"))
            .arg("MAXLEN")
            .arg("~")
            .arg(KEPT_LEAVE_CHANGES)
            .arg("*")
            .arg("employee")
            .arg(employee_id.unwrap_or(ANYONE));
        let _: Option<String> = self.call("leave changes", command.query_async(&mut connection)).await;
    }

    /// The leave changes recorded after `position` (all that are kept, without one), oldest first; `None` while
    /// Redis is unreachable.
    pub(super) async fn leave_changes_after(&self, position: Option<&str>) -> Option<Vec<LeaveChange>> {
        let mut connection = self.connection();
        let mut command = redis::cmd("XRANGE");
        let start = position.map_or_else(|| "-".to_owned(), |position| format!("({position}"));
        command.arg(self.sync_key("leave")).arg(start).arg("+");
        let entries: Vec<(String, Vec<String>)> =
            self.call("leave changes", command.query_async(&mut connection)).await?;
        Some(entries.into_iter().filter_map(|(position, fields)| parse_leave_change(position, &fields)).collect())
    }
}

/// The employee field of a leave change whose person is unknown.
const ANYONE: &str = "*";

/// A stream entry's position is `{milliseconds}-{sequence}` on Redis's clock.
fn parse_leave_change(position: String, fields: &[String]) -> Option<LeaveChange> {
    let millis: i64 = position.split_once('-')?.0.parse().ok()?;
    let at = Utc.timestamp_millis_opt(millis).single()?;
    let employee = fields.chunks(2).find(|pair| pair[0] == "employee").and_then(|pair| pair.get(1))?;
    let employee_id = (employee != ANYONE).then(|| employee.clone());
    Some(LeaveChange { position, employee_id, at })
}

fn parse_round(fields: &[String]) -> Option<SyncRound> {
    let field = |name: &str| fields.chunks(2).find(|pair| pair[0] == name).and_then(|pair| pair.get(1));
    let time = |name: &str| Utc.timestamp_millis_opt(field(name)?.parse().ok()?).single();
    let kind = match field("kind")?.as_str() {
        "delta" => RoundKind::Delta,
        "full" => RoundKind::Full,
        "lists" => RoundKind::Lists,
        _ => return None,
    };
    Some(SyncRound { kind, since: time("since")?, until: time("until")?, lists: field("lists")? == "1" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leave_change_reads_back_with_its_time_and_anyone_is_nobody_in_particular() {
        let fields = |employee: &str| vec!["employee".to_owned(), employee.to_owned()];
        let change = parse_leave_change("1733400000123-0".to_owned(), &fields("e-1")).unwrap();
        assert_eq!(change.employee_id.as_deref(), Some("e-1"));
        assert_eq!(change.at.timestamp_millis(), 1_733_400_000_123);
        assert_eq!(change.position, "1733400000123-0");
        assert_eq!(parse_leave_change("1-0".to_owned(), &fields(ANYONE)).unwrap().employee_id, None);
        assert_eq!(parse_leave_change("garbage".to_owned(), &fields("e-1")), None);
        assert_eq!(parse_leave_change("1-0".to_owned(), &[]), None);
    }

    #[test]
    fn a_round_reads_back_and_an_unknown_one_is_skipped() {
        let fields = |kind: &str| -> Vec<String> {
            ["kind", kind, "since", "1000", "until", "2000", "lists", "1"].map(str::to_owned).to_vec()
        };
        let round = parse_round(&fields("delta")).unwrap();
        assert_eq!(round.kind, RoundKind::Delta);
        assert_eq!((round.since.timestamp_millis(), round.until.timestamp_millis(), round.lists), (1000, 2000, true));
        assert_eq!(parse_round(&fields("full")).unwrap().kind, RoundKind::Full);
        assert_eq!(parse_round(&fields("partial")), None);
        assert_eq!(parse_round(&["kind".to_owned()]), None);
    }
}

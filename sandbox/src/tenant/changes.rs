//! HR changes after generation: hires, exits, manager moves, renames, leave requests and new
//! departments, applied to a tenant in place (the caller works on its own copy; see
//! `crate::hr`).
//!
//! Every change stamps `last_modified` of each employee whose own record changed with the
//! instant of the change, and leaves the tenant as consistent as generation does: one root,
//! no cycles, `depth` equal to the distance from the root, nobody reporting to a leaver,
//! indexes and leave balances covering every employee, department heads who still work here.
//! A leave request changes no employee record, so it stamps nobody: a `lastModified` poll
//! must not refetch someone because they took a day off. Nor does a new department, which
//! starts empty: it stamps only itself and its Department group.
//!
//! What is *not* stamped: records that only embed a copy of a changed employee. A report's
//! `reportsTo` carries the manager's name and `l2Manager` the manager's manager; both are
//! rendered from the manager's record, so they change without the report's `last_modified`
//! moving (nothing documents Keka bumping them either).

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime};
use rand::Rng;

use super::attendance::{DayType, day_type};
use super::leave::{can_take_leave, joiner_balances, leave_note, same_day_leave_type};
use super::names::{
    DEGREES, EXIT_REASONS, INDIAN_FEMALE, INDIAN_LAST, INTL_FEMALE, INTL_LAST, PAST_EMPLOYERS, PERSONAL_MAIL_DOMAINS,
    TERMINATION_REASONS,
};
use super::org::{NEW_DEPARTMENTS, department_code};
use super::people::{given_names, mobile, random_name, street_address, years_before};
use super::util::{digits, pick, shift, slug};
use super::{
    AccountStatus, CustomFieldValue, Department, Employee, EmploymentStatus, ExitStatus, ExitType, Experience, Gender,
    Group, Guid, LeaveRequest, LeaveStatus, MaritalStatus, Session, SystemGroupType, Tenant, TimeType, WorkerType,
};

/// The kinds of HR change the sandbox simulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// A new employee joins today.
    Hire,
    /// A working employee is relieved today.
    Exit,
    /// A working employee gets a new reporting manager (an individual contributor moved
    /// into another department's team transfers into that department).
    Move,
    /// A working employee's first or last name changes.
    Rename,
    /// A working employee takes a day or two off from today, approved at once.
    Leave,
    /// A new, empty department is set up (also a group of the system type Department).
    Department,
}

impl ChangeKind {
    /// Every kind, in the order explicit requests apply them.
    pub const ALL: [ChangeKind; 6] = [
        ChangeKind::Hire,
        ChangeKind::Exit,
        ChangeKind::Move,
        ChangeKind::Rename,
        ChangeKind::Leave,
        ChangeKind::Department,
    ];

    /// Lower-case name (`hire`, `exit`, `move`, `rename`, `leave`, `department`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Hire => "hire",
            ChangeKind::Exit => "exit",
            ChangeKind::Move => "move",
            ChangeKind::Rename => "rename",
            ChangeKind::Leave => "leave",
            ChangeKind::Department => "department",
        }
    }
}

/// What a change did beyond its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeDetail {
    /// `manager`: index of the new hire's manager.
    Hire { manager: usize },
    /// `manager`: the leaver's manager, who takes over `reassigned` (the leaver's direct reports).
    Exit { manager: usize, reassigned: Vec<usize> },
    /// Reporting manager `from` → `to`.
    Move { from: usize, to: usize },
    /// The names before the change.
    Rename { first_name: String, last_name: String, display_name: String },
    /// The new leave request, by id: later changes may insert requests before it, so an index
    /// would not stay valid. `leave_type` indexes [`Tenant::leave_types`].
    Leave { request: Guid, leave_type: usize, from: NaiveDate, to: NaiveDate, days: f64 },
    /// `department`: index of the new department in [`Tenant::departments`] (new ones are
    /// appended, so the index stays valid); its group is `Tenant::departments[department].group`.
    Department { department: usize },
}

/// One applied change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: ChangeKind,
    /// Index into [`Tenant::employees`] of the employee the change is about; `None` for a new
    /// department, which is about nobody.
    pub employee: Option<usize>,
    /// When it happened (UTC, the clock of the `lastModified` filter).
    pub at: NaiveDateTime,
    /// Every employee whose `last_modified` is now `at`: `employee` first, then e.g. the
    /// reports an exit moved to another manager. Empty for a leave request or a new
    /// department, which change no employee record.
    pub affected: Vec<usize>,
    pub detail: ChangeDetail,
}

/// Most direct reports a move or hire gives a manager when there is a choice.
const PREFERRED_SPAN: usize = 10;
/// How far a leave of one or two working days may stretch over weekly offs and holidays;
/// beyond it the office calendar is taken to have no working days left to count.
const LEAVE_SPAN_DAYS: u32 = 14;

impl Tenant {
    /// Applies one change of `kind` at `at`, drawing every choice from `rng`. `None` when the
    /// tenant has nobody the change could apply to (e.g. an exit in a tenant of one).
    pub fn apply_change<R: Rng + ?Sized>(
        &mut self,
        kind: ChangeKind,
        rng: &mut R,
        at: NaiveDateTime,
    ) -> Option<Change> {
        match kind {
            ChangeKind::Hire => self.hire(rng, at),
            ChangeKind::Exit => self.exit(rng, at),
            ChangeKind::Move => self.move_employee(rng, at),
            ChangeKind::Rename => self.rename(rng, at),
            ChangeKind::Leave => self.request_leave(rng, at),
            ChangeKind::Department => self.add_department(rng, at),
        }
    }

    /// Caps every stored "modified at" at `at` (the sandbox passes a moment before its start,
    /// as generation stamps records up to the end of office hours of "today", which may still
    /// lie ahead).
    pub fn cap_last_modified(&mut self, at: NaiveDateTime) {
        let cap = |t: &mut NaiveDateTime| *t = (*t).min(at);
        self.employees.iter_mut().for_each(|e| cap(&mut e.last_modified));
        self.groups.iter_mut().for_each(|g| cap(&mut g.last_modified));
        self.departments.iter_mut().for_each(|d| cap(&mut d.last_modified));
        self.locations.iter_mut().for_each(|l| cap(&mut l.last_modified));
        self.job_titles.iter_mut().for_each(|j| cap(&mut j.last_modified));
        self.jobs.iter_mut().for_each(|j| cap(&mut j.last_modified));
        self.candidates.iter_mut().for_each(|c| cap(&mut c.last_modified));
        self.preboarding.iter_mut().for_each(|p| cap(&mut p.last_modified));
    }

    /// Direct reports of every employee (by index).
    pub fn direct_reports(&self) -> Vec<Vec<usize>> {
        let mut reports = vec![Vec::new(); self.employees.len()];
        for (i, e) in self.employees.iter().enumerate() {
            if let Some(m) = e.reports_to {
                reports[m].push(i);
            }
        }
        reports
    }

    fn is_working(&self, i: usize) -> bool {
        self.employees[i].employment_status == EmploymentStatus::Working
    }

    /// Working employees who report to someone (everyone but the CEO).
    fn working_non_root(&self) -> Vec<usize> {
        (0..self.employees.len()).filter(|&i| self.is_working(i) && self.employees[i].reports_to.is_some()).collect()
    }

    /// Recomputes `depth` from the manager references (which form a tree).
    fn recompute_depths(&mut self) {
        let n = self.employees.len();
        let mut depth: Vec<Option<u32>> = vec![None; n];
        let mut path = Vec::new();
        for start in 0..n {
            let mut cur = start;
            let base = loop {
                if let Some(d) = depth[cur] {
                    break d;
                }
                match self.employees[cur].reports_to {
                    Some(m) if path.len() <= n => {
                        path.push(cur);
                        cur = m;
                    }
                    _ => {
                        depth[cur] = Some(0);
                        break 0;
                    }
                }
            };
            let mut d = base;
            while let Some(i) = path.pop() {
                d += 1;
                depth[i] = Some(d);
            }
        }
        for (e, d) in self.employees.iter_mut().zip(depth) {
            e.depth = d.unwrap_or(0);
        }
    }

    fn hire<R: Rng + ?Sized>(&mut self, rng: &mut R, at: NaiveDateTime) -> Option<Change> {
        let today = self.today;
        let reports = self.direct_reports();
        let working: Vec<usize> = (0..self.employees.len()).filter(|&i| self.is_working(i)).collect();
        if working.is_empty() {
            return None;
        }
        // A manager with a working team who is staying, preferably without a full team.
        let team = |m: usize| reports[m].iter().filter(|&&r| self.is_working(r)).count();
        let staying = |m: usize| !self.employees[m].in_notice_period(today);
        let managers: Vec<usize> = working.iter().copied().filter(|&m| team(m) > 0 && staying(m)).collect();
        let roomy: Vec<usize> = managers.iter().copied().filter(|&m| team(m) < PREFERRED_SPAN).collect();
        let manager = *pick(rng, [&roomy, &managers, &working].into_iter().find(|pool| !pool.is_empty())?);

        // The new joiner takes the place of a typical team member: department, office, title
        // and policies of a working individual contributor in the team.
        let team_members: Vec<usize> = reports[manager].iter().copied().filter(|&r| self.is_working(r)).collect();
        let individuals: Vec<usize> = team_members.iter().copied().filter(|&r| reports[r].is_empty()).collect();
        let template = [&individuals, &team_members]
            .into_iter()
            .find(|pool| !pool.is_empty())
            .map_or(manager, |pool| *pick(rng, pool));
        let tpl = &self.employees[template];
        let (department, location, job_title, policies) = (tpl.department, tpl.location, tpl.job_title, tpl.policies);
        let kinds = [
            SystemGroupType::BusinessUnit,
            SystemGroupType::Department,
            SystemGroupType::OrgLocation,
            SystemGroupType::CostCenter,
        ];
        let groups: Vec<usize> = kinds
            .iter()
            .filter_map(|&kind| tpl.groups.iter().copied().find(|&g| self.groups[g].kind == kind))
            .collect();

        let address = self.locations[location].address.clone();
        let country = address.country_code.clone();
        let international = if country == "IN" { rng.random_bool(0.06) } else { rng.random_bool(0.75) };
        let name = random_name(rng, international);

        let emails: HashSet<&str> = self.employees.iter().map(|e| e.email.as_str()).collect();
        let base = format!("{}.{}", slug(&name.first), slug(&name.last));
        let domain = &self.company.domain;
        let mut email = format!("{base}@{domain}");
        let mut k = 2;
        while emails.contains(email.as_str()) {
            email = format!("{base}{k}@{domain}");
            k += 1;
        }
        let personal_email = format!(
            "{}{}{}@{}",
            slug(&name.first),
            pick(rng, &[".", "_", ""]),
            slug(&name.last),
            pick(rng, PERSONAL_MAIL_DOMAINS)
        );

        let age: i32 = rng.random_range(21..36);
        let date_of_birth = shift(years_before(today, age), -rng.random_range(0..365));
        let prior_experience_days = i64::from((age - 22).max(0)) * 365 + rng.random_range(0..200);
        let married = age >= 27 && rng.random_bool(0.4);

        let ug_start = years_before(date_of_birth, -18);
        let (degree, branch) = *pick(rng, DEGREES);
        let education = vec![super::people::undergraduate(rng, (degree, branch), ug_start)];
        let experience = if prior_experience_days > 180 {
            let end = shift(today, -rng.random_range(1..30));
            vec![Experience {
                id: Guid::random(rng),
                company_name: (*pick(rng, PAST_EMPLOYERS)).to_owned(),
                job_title: self.job_titles[job_title].name.clone(),
                location: address.city.clone(),
                description: None,
                date_of_joining: shift(end, -prior_experience_days),
                date_of_relieving: end,
            }]
        } else {
            Vec::new()
        };
        let zip = if country == "IN" && address.zip.len() >= 4 {
            format!("{}{}", &address.zip[..4], digits(rng, 2))
        } else {
            address.zip.clone()
        };
        let current_address = street_address(rng, &address.city, &address.state, zip, &country);
        let nationality = if name.indian {
            "Indian".to_owned()
        } else {
            match country.as_str() {
                "GB" => "British".to_owned(),
                "SG" => "Singaporean".to_owned(),
                _ => (*pick(rng, &["American", "British", "Australian", "German", "Canadian"])).to_owned(),
            }
        };
        let custom_fields = vec![
            CustomFieldValue { field: 0, value: (*pick(rng, &["S", "M", "L", "XL", "XXL"])).to_owned() },
            CustomFieldValue { field: 1, value: format!("ACME-LT-{}", digits(rng, 5)) },
        ];
        let mobile_phone = mobile(rng, &country);

        let mut id = Guid::random(rng);
        while self.employee_index(id).is_some() {
            id = Guid::random(rng);
        }
        let numbers: HashSet<&str> = self.employees.iter().map(|e| e.employee_number.as_str()).collect();
        let mut serial = self.employees.len() + 1;
        let prefix = &self.company.employee_number_prefix;
        while numbers.contains(format!("{prefix}{serial:05}").as_str()) {
            serial += 1;
        }
        let employee_number = format!("{prefix}{serial:05}");
        let lookups_custom = self.lookups.custom_fields.len();

        let mut employee = Employee {
            id,
            employee_number,
            display_name: format!("{} {}", name.first, name.last),
            first_name: name.first,
            middle_name: name.middle,
            last_name: name.last,
            email,
            personal_email: Some(personal_email),
            nationality,
            has_image: false,
            job_title,
            secondary_job_title: None,
            reports_to: Some(manager),
            dotted_line_manager: None,
            depth: self.employees[manager].depth + 1,
            contingent_type: None,
            time_type: TimeType::FullTime,
            worker_type: WorkerType::Permanent,
            is_private: false,
            is_profile_complete: false,
            marital_status: if married { MaritalStatus::Married } else { MaritalStatus::Single },
            marriage_date: None,
            gender: name.gender,
            joining_date: today,
            prior_experience_days,
            professional_summary: None,
            date_of_birth,
            resignation_submitted_date: None,
            exit_date: None,
            employment_status: EmploymentStatus::Working,
            account_status: AccountStatus::NotRegistered,
            invitation_status: 1,
            exit_status: ExitStatus::None,
            exit_type: ExitType::None,
            exit_reason: None,
            work_phone: None,
            home_phone: None,
            mobile_phone,
            blood_group: 0,
            attendance_number: format!("{}", 10_000 + serial),
            probation_end_date: Some(shift(today, 180)),
            permanent_address: current_address.clone(),
            current_address,
            relations: Vec::new(),
            education,
            experience,
            custom_fields: custom_fields.into_iter().filter(|c| c.field < lookups_custom).collect(),
            groups,
            department,
            location,
            policies,
            last_modified: at,
        };
        employee.custom_fields.extend(
            super::custom_fields::values(employee.id, today, super::people::ORG_CUSTOM_FIELDS)
                .into_iter()
                .filter(|c| c.field < lookups_custom),
        );
        let index = self.employees.len();
        self.leave_balances.push(joiner_balances(&self.leave_types, employee.gender));
        self.index.employee_by_id.insert(employee.id, index);
        self.index.requests_by_employee.push(Vec::new());
        self.employees.push(employee);
        let listed_at = rng.random_range(0..=self.listing.len());
        self.listing.insert(listed_at, index);
        Some(Change {
            kind: ChangeKind::Hire,
            employee: Some(index),
            at,
            affected: vec![index],
            detail: ChangeDetail::Hire { manager },
        })
    }

    fn exit<R: Rng + ?Sized>(&mut self, rng: &mut R, at: NaiveDateTime) -> Option<Change> {
        let today = self.today;
        let candidates = self.working_non_root();
        if candidates.is_empty() {
            return None;
        }
        // People serving notice leave first, half of the time.
        let serving: Vec<usize> =
            candidates.iter().copied().filter(|&i| self.employees[i].exit_status == ExitStatus::Initiated).collect();
        let who =
            if !serving.is_empty() && rng.random_bool(0.5) { *pick(rng, &serving) } else { *pick(rng, &candidates) };
        let manager = self.employees[who].reports_to.expect("candidates have a manager");

        let e = &mut self.employees[who];
        if e.resignation_submitted_date.is_none() {
            let company_action = rng.random_bool(0.15);
            e.exit_type = if company_action { ExitType::CompanyAction } else { ExitType::EmployeeResignation };
            e.resignation_submitted_date = Some(shift(today, -rng.random_range(14..90)).max(e.joining_date));
            e.exit_reason =
                Some((*pick(rng, if company_action { TERMINATION_REASONS } else { EXIT_REASONS })).to_owned());
        } else if e.exit_type == ExitType::None {
            e.exit_type = ExitType::EmployeeResignation;
        }
        if e.exit_reason.is_none() {
            e.exit_reason = Some((*pick(rng, EXIT_REASONS)).to_owned());
        }
        e.exit_date = Some(today.max(e.joining_date));
        e.exit_status = ExitStatus::Completed;
        e.employment_status = EmploymentStatus::Relieved;
        e.account_status = AccountStatus::Disabled;
        e.probation_end_date = e.probation_end_date.filter(|end| *end <= today);
        e.last_modified = at;

        // Keka's exit flow has HR reassign the leaver's reportees; here they go to the
        // leaver's manager (everyone who reported to the leaver, so nobody reports to a leaver).
        let mut affected = vec![who];
        let mut reassigned = Vec::new();
        for (i, r) in self.employees.iter_mut().enumerate() {
            let mut touched = false;
            if r.reports_to == Some(who) {
                r.reports_to = Some(manager);
                reassigned.push(i);
                touched = true;
            }
            if r.dotted_line_manager == Some(who) || (touched && r.dotted_line_manager == r.reports_to) {
                r.dotted_line_manager = None;
                touched = true;
            }
            if touched {
                r.last_modified = at;
                affected.push(i);
            }
        }
        // The manager stands in as head of any department the leaver headed.
        for d in &mut self.departments {
            if d.heads.contains(&who) {
                d.heads.retain(|&h| h != who);
                if !d.heads.contains(&manager) {
                    d.heads.push(manager);
                }
                d.last_modified = at;
            }
        }
        self.recompute_depths();
        Some(Change {
            kind: ChangeKind::Exit,
            employee: Some(who),
            at,
            affected,
            detail: ChangeDetail::Exit { manager, reassigned },
        })
    }

    fn move_employee<R: Rng + ?Sized>(&mut self, rng: &mut R, at: NaiveDateTime) -> Option<Change> {
        let today = self.today;
        let reports = self.direct_reports();
        let candidates = self.working_non_root();
        if candidates.is_empty() {
            return None;
        }
        // A few attempts: someone high up may have nobody eligible outside their own subtree.
        for _ in 0..8 {
            let who = *pick(rng, &candidates);
            let from = self.employees[who].reports_to.expect("candidates have a manager");
            // Everyone under `who` (and `who`): never a new manager, or the tree gets a cycle.
            let mut below = HashSet::from([who]);
            let mut stack = vec![who];
            while let Some(m) = stack.pop() {
                for &r in &reports[m] {
                    if below.insert(r) {
                        stack.push(r);
                    }
                }
            }
            let eligible: Vec<usize> = (0..self.employees.len())
                .filter(|&m| {
                    m != from
                        && !below.contains(&m)
                        && self.is_working(m)
                        && !self.employees[m].in_notice_period(today)
                        && !reports[m].is_empty()
                        && reports[m].len() < PREFERRED_SPAN
                })
                .collect();
            if eligible.is_empty() {
                continue;
            }
            let department = self.employees[who].department;
            let same: Vec<usize> =
                eligible.iter().copied().filter(|&m| self.employees[m].department == department).collect();
            let to = if !same.is_empty() && rng.random_bool(0.7) { *pick(rng, &same) } else { *pick(rng, &eligible) };
            // An individual contributor moved to a team in another department transfers into
            // it: department, business unit and cost centre groups, and the title of a team
            // member there. Managers keep their department (matrix reporting), as their teams
            // move with them.
            let target = &self.employees[to];
            let transfer = reports[who].is_empty() && target.department != department && target.department != 0;
            let transferred = transfer.then(|| {
                let kinds = [SystemGroupType::BusinessUnit, SystemGroupType::Department, SystemGroupType::CostCenter];
                let groups: Vec<(SystemGroupType, usize)> = kinds
                    .iter()
                    .filter_map(|&kind| {
                        target.groups.iter().copied().find(|&g| self.groups[g].kind == kind).map(|g| (kind, g))
                    })
                    .collect();
                let peers: Vec<usize> = reports[to]
                    .iter()
                    .copied()
                    .filter(|&r| {
                        self.is_working(r) && reports[r].is_empty() && self.employees[r].department == target.department
                    })
                    .collect();
                let title = (!peers.is_empty()).then(|| self.employees[*pick(rng, &peers)].job_title);
                (target.department, groups, title)
            });
            let e = &mut self.employees[who];
            if let Some((department, groups, title)) = transferred {
                e.department = department;
                for (kind, group) in groups {
                    if let Some(slot) = e.groups.iter_mut().find(|g| self.groups[**g].kind == kind) {
                        *slot = group;
                    }
                }
                if let Some(title) = title {
                    e.job_title = title;
                }
            }
            e.reports_to = Some(to);
            if e.dotted_line_manager == Some(to) {
                e.dotted_line_manager = None;
            }
            e.last_modified = at;
            self.recompute_depths();
            return Some(Change {
                kind: ChangeKind::Move,
                employee: Some(who),
                at,
                affected: vec![who],
                detail: ChangeDetail::Move { from, to },
            });
        }
        None
    }

    fn rename<R: Rng + ?Sized>(&mut self, rng: &mut R, at: NaiveDateTime) -> Option<Change> {
        let working: Vec<usize> = (0..self.employees.len()).filter(|&i| self.is_working(i)).collect();
        if working.is_empty() {
            return None;
        }
        let who = *pick(rng, &working);
        let e = &self.employees[who];
        let indian = e.nationality == "Indian";
        let female = match e.gender {
            Gender::Female => true,
            Gender::Male => false,
            _ => INDIAN_FEMALE.contains(&e.first_name.as_str()) || INTL_FEMALE.contains(&e.first_name.as_str()),
        };
        let previous = (e.first_name.clone(), e.last_name.clone(), e.display_name.clone());
        // A new surname (marriage, deed poll) or a new first name (the name they go by).
        let surname = rng.random_bool(0.6);
        let pool: &[&str] = match (surname, indian) {
            (true, true) => INDIAN_LAST,
            (true, false) => INTL_LAST,
            (false, _) => given_names(indian, female),
        };
        let current = if surname { &previous.1 } else { &previous.0 };
        let options: Vec<&str> = pool.iter().copied().filter(|n| n != current).collect();
        let new_name = (*pick(rng, &options)).to_owned();

        let e = &mut self.employees[who];
        if surname {
            e.last_name = new_name;
        } else {
            e.first_name = new_name;
        }
        e.display_name = format!("{} {}", e.first_name, e.last_name);
        e.last_modified = at;
        Some(Change {
            kind: ChangeKind::Rename,
            employee: Some(who),
            at,
            affected: vec![who],
            detail: ChangeDetail::Rename { first_name: previous.0, last_name: previous.1, display_name: previous.2 },
        })
    }

    /// The last day of a leave of `working_days` from `from` at the employee's office (the
    /// count skips weekly offs and holidays, as generated requests do, so a leave starting on
    /// a day off runs to the next working day), or `None` when the employee would not be
    /// employed through it.
    fn leave_end(&self, employee: usize, from: NaiveDate, working_days: u32) -> Option<NaiveDate> {
        let e = &self.employees[employee];
        let loc = &self.locations[e.location];
        let calendar = &self.lookups.holiday_calendars[loc.holiday_calendar];
        let working = |d: NaiveDate| day_type(loc, calendar, d) == DayType::WorkingDay;
        let mut end = from;
        let mut counted = u32::from(working(from));
        let mut span = 0;
        while counted < working_days {
            end = end.succ_opt()?;
            span += 1;
            if span > LEAVE_SPAN_DAYS {
                return None;
            }
            counted += u32::from(working(end));
        }
        (e.employed_on(from) && e.employed_on(end)).then_some(end)
    }

    /// Whether none of the employee's requests touches `[from, to]` (generation never lets an
    /// employee's requests overlap, and attendance reads the first approved one of a day).
    fn free_for_leave(&self, employee: usize, from: NaiveDate, to: NaiveDate) -> bool {
        !self.leave_requests_of(employee).any(|r| r.overlaps(from, to))
    }

    fn request_leave<R: Rng + ?Sized>(&mut self, rng: &mut R, at: NaiveDateTime) -> Option<Change> {
        let from = at.date();
        let fits = |i: usize, n: u32| {
            self.leave_end(i, from, n)
                .filter(|&to| self.free_for_leave(i, from, to) && can_take_leave(&self.leave_balances[i], f64::from(n)))
        };
        let candidates: Vec<usize> =
            (0..self.employees.len()).filter(|&i| self.is_working(i) && fits(i, 1).is_some()).collect();
        if candidates.is_empty() {
            return None;
        }
        let who = *pick(rng, &candidates);
        // Mostly a single day, as most generated casual and sick leave is; a second day when
        // the calendar and the balance allow it.
        let wanted = if rng.random_bool(0.3) { 2 } else { 1 };
        let (to, days, leave_type) = [wanted, 1].into_iter().find_map(|n| {
            let to = fits(who, n)?;
            let days = f64::from(n);
            Some((to, days, same_day_leave_type(rng, &self.leave_balances[who], days)?))
        })?;

        let mut id = Guid::random(rng);
        while self.leave_requests.iter().any(|r| r.id == id) {
            id = Guid::random(rng);
        }
        let note = leave_note(rng, leave_type);
        // Approved as it is requested: the simulated HR team is also the approver.
        self.insert_leave_request(LeaveRequest {
            id,
            employee: who,
            leave_type,
            from_date: from,
            to_date: to,
            from_session: Session::FirstHalf,
            to_session: Session::SecondHalf,
            days,
            requested_on: at,
            last_action_taken_on: at,
            note,
            status: LeaveStatus::Approved,
            cancel_reject_reason: None,
            reason: None,
            requested_by: None,
        });
        // Approved leave is consumed leave, as generation counts it.
        let balance = self.leave_balances[who]
            .iter_mut()
            .find(|b| b.leave_type == leave_type)
            .expect("the type was chosen from the employee's balances");
        balance.consumed += days;
        balance.available -= days;
        Some(Change {
            kind: ChangeKind::Leave,
            employee: Some(who),
            at,
            affected: Vec::new(),
            detail: ChangeDetail::Leave { request: id, leave_type, from, to, days },
        })
    }

    /// Sets up a new department: a name from [`NEW_DEPARTMENTS`] no department has yet (with a
    /// numeric suffix once they are all taken), a fresh id shared with its new Department group
    /// (as generated departments share theirs), a `DEPT-` code no group has, and both stamped
    /// with `at`. Nobody is moved into it and it has no head, so no employee record changes.
    /// `None` only if the tenant has no Department group type.
    fn add_department<R: Rng + ?Sized>(&mut self, rng: &mut R, at: NaiveDateTime) -> Option<Change> {
        let group_type = self.group_types.iter().position(|g| g.system_group_type == SystemGroupType::Department)?;
        let taken: HashSet<String> = self
            .departments
            .iter()
            .map(|d| &d.name)
            .chain(self.groups.iter().filter(|g| g.kind == SystemGroupType::Department).map(|g| &g.name))
            .map(|name| name.to_lowercase())
            .collect();
        // Round 1 offers the pool's names as they are, round n their "<name> n".
        let (name, row) = (1..)
            .find_map(|round: usize| {
                let options: Vec<(String, usize)> = NEW_DEPARTMENTS
                    .iter()
                    .enumerate()
                    .map(|(i, row)| (if round == 1 { row.0.to_owned() } else { format!("{} {round}", row.0) }, i))
                    .filter(|(name, _)| !taken.contains(&name.to_lowercase()))
                    .collect();
                (!options.is_empty()).then(|| pick(rng, &options).clone())
            })
            .expect("finitely many departments");
        let (_, description, parent) = NEW_DEPARTMENTS[row];
        let parent = parent.and_then(|p| self.departments.iter().position(|d| d.name == p && !d.is_archived));

        let mut id = Guid::random(rng);
        while self.groups.iter().any(|g| g.id == id)
            || self.departments.iter().any(|d| d.id == id)
            || self.locations.iter().any(|l| l.id == id)
        {
            id = Guid::random(rng);
        }
        let base = department_code(&name);
        let mut code = base.clone();
        let mut k = 2;
        while self.groups.iter().any(|g| g.code.eq_ignore_ascii_case(&code)) {
            code = format!("{base}{k}");
            k += 1;
        }
        self.groups.push(Group {
            id,
            name: name.clone(),
            code,
            description: description.to_owned(),
            group_type,
            kind: SystemGroupType::Department,
            gl_code: None,
            last_modified: at,
        });
        self.departments.push(Department {
            id,
            group: self.groups.len() - 1,
            name,
            description: description.to_owned(),
            parent,
            is_archived: false,
            heads: Vec::new(),
            last_modified: at,
        });
        Some(Change {
            kind: ChangeKind::Department,
            employee: None,
            at,
            affected: Vec::new(),
            detail: ChangeDetail::Department { department: self.departments.len() - 1 },
        })
    }

    /// Inserts a request where generation's order puts it (from date, employee, to date) and
    /// shifts the per-employee index past it, so routes and attendance see it at once.
    pub(super) fn insert_leave_request(&mut self, request: LeaveRequest) {
        let key = (request.from_date, request.employee, request.to_date);
        let at = self.leave_requests.partition_point(|r| (r.from_date, r.employee, r.to_date) <= key);
        let employee = request.employee;
        self.leave_requests.insert(at, request);
        for list in &mut self.index.requests_by_employee {
            for i in list.iter_mut().filter(|i| **i >= at) {
                *i += 1;
            }
        }
        let own = &mut self.index.requests_by_employee[employee];
        let slot = own.partition_point(|&i| i < at);
        own.insert(slot, at);
    }
}

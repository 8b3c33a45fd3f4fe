//! Employees: the manager tree, department/location membership, names and personal data,
//! and the employment lifecycle (probation, notice period, exits).
//!
//! The tree is built department by department: the CEO at the root, one head per department
//! reporting to the CEO (or to the parent department's head), and each department filled
//! breadth-first with spans of 3–10. That gives a single root, no cycles, and a depth of about
//! six for 10,000 people. Employees are created in tree order (managers before reports) and
//! finally renumbered by joining date, the way HR systems hand out employee numbers.

use std::collections::{HashSet, VecDeque};

use chrono::{Datelike, NaiveDate};
use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};

use super::names::{
    DEGREES, EXIT_REASONS, HOME_TOWNS, INDIAN_FEMALE, INDIAN_LAST, INDIAN_MALE, INTL_FEMALE, INTL_LAST, INTL_MALE,
    MIDDLE_NAMES, PAST_EMPLOYERS, PERSONAL_MAIL_DOMAINS, POSTGRAD, PROFESSIONAL_SUMMARIES, PROFESSIONS, STREETS,
    TERMINATION_REASONS, UNIVERSITIES,
};
use super::org::Org;
use super::util::{at_office_time, date_between, digits, pick, shift, slug, weighted, years_between};
use super::{
    AccountStatus, Address, CustomFieldValue, Department, Education, Employee, EmployeePolicies, EmploymentStatus,
    ExitStatus, ExitType, Experience, Gender, Guid, MaritalStatus, Relation, TenantParams, TimeType, WorkerType,
};

/// Output of this stage.
#[derive(Debug, Clone)]
pub(super) struct People {
    pub(super) employees: Vec<Employee>,
    pub(super) departments: Vec<Department>,
}

/// Shape of one person in the tree before personal data exists.
#[derive(Debug, Clone, Copy)]
struct Node {
    department: usize,
    manager: Option<usize>,
    depth: u32,
    role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Ceo,
    /// Head of a top-level department (reports to the CEO).
    Vp,
    /// Head of a sub-department, or anyone with reports.
    Manager,
    Individual,
}

/// Span of control, weighted towards 4–7 reports.
/// Custom fields the org draws itself (T-shirt size, laptop asset tag); the derived ones follow them.
pub(super) const ORG_CUSTOM_FIELDS: usize = 2;

fn span<R: Rng + ?Sized>(rng: &mut R) -> usize {
    3 + weighted(rng, &[1.0, 3.0, 4.0, 4.0, 3.0, 2.0, 1.0, 1.0])
}

/// Splits `total` over `weights` by largest remainder, so the counts add up exactly.
fn apportion(total: usize, weights: &[f64]) -> Vec<usize> {
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| w / sum * total as f64).collect();
    let mut counts: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = exact[a] - exact[a].floor();
        let fb = exact[b] - exact[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    let mut left = total - counts.iter().sum::<usize>();
    for i in order {
        if left == 0 {
            break;
        }
        if weights[i] > 0.0 {
            counts[i] += 1;
            left -= 1;
        }
    }
    counts
}

/// Builds the manager tree: returns nodes in creation order and the head node of each department.
fn build_tree<R: Rng + ?Sized>(rng: &mut R, n: usize, org: &Org) -> (Vec<Node>, Vec<Option<usize>>) {
    let mut nodes = Vec::with_capacity(n);
    let mut heads = vec![None; org.departments.len()];
    if n == 0 {
        return (nodes, heads);
    }
    nodes.push(Node { department: 0, manager: None, depth: 0, role: Role::Ceo });
    heads[0] = Some(0);

    let weights: Vec<f64> = org.departments.iter().map(|d| if d.is_archived { 0.0 } else { d.weight }).collect();
    let counts = apportion(n - 1, &weights);

    // The CEO's office: a couple of people reporting straight to the CEO.
    for _ in 0..counts[0] {
        nodes.push(Node { department: 0, manager: Some(0), depth: 1, role: Role::Individual });
    }

    // Parents precede their sub-departments in the catalogue, so heads exist when needed.
    for (d, dept) in org.departments.iter().enumerate().skip(1) {
        let count = counts[d];
        if count == 0 {
            continue;
        }
        let boss = dept.parent.and_then(|p| heads[p]).unwrap_or(0);
        let head = nodes.len();
        nodes.push(Node {
            department: d,
            manager: Some(boss),
            depth: nodes[boss].depth + 1,
            role: if boss == 0 { Role::Vp } else { Role::Manager },
        });
        heads[d] = Some(head);

        let mut remaining = count - 1;
        let mut queue = VecDeque::from([head]);
        while remaining > 0 {
            let manager = queue.pop_front().expect("queue holds every added member");
            let take = span(rng).min(remaining);
            for _ in 0..take {
                queue.push_back(nodes.len());
                nodes.push(Node {
                    department: d,
                    manager: Some(manager),
                    depth: nodes[manager].depth + 1,
                    role: Role::Individual,
                });
            }
            if take > 0 && nodes[manager].role == Role::Individual {
                nodes[manager].role = Role::Manager;
            }
            remaining -= take;
        }
    }

    // A few individual contributors sit in a different department than their manager
    // (matrix reporting), so "reports share the manager's department" is mostly, not always, true.
    let active: Vec<usize> = (1..org.departments.len()).filter(|&d| !org.departments[d].is_archived).collect();
    for node in nodes.iter_mut().skip(1) {
        if node.role == Role::Individual && node.department != 0 && rng.random_bool(0.02) {
            node.department = *pick(rng, &active);
        }
    }
    (nodes, heads)
}

/// Random name, gender and nationality, e-mail local part not yet deduplicated.
pub(super) struct Name {
    pub(super) first: String,
    pub(super) middle: Option<String>,
    pub(super) last: String,
    pub(super) gender: Gender,
    pub(super) indian: bool,
}

pub(super) fn random_name<R: Rng + ?Sized>(rng: &mut R, international: bool) -> Name {
    let gender = match weighted(rng, &[52.0, 46.0, 1.0, 1.0]) {
        0 => Gender::Male,
        1 => Gender::Female,
        2 => Gender::Nonbinary,
        _ => Gender::PreferNotToRespond,
    };
    let female_pool = match gender {
        Gender::Female => true,
        Gender::Male => false,
        _ => rng.random_bool(0.5),
    };
    let (first, last) = match (international, female_pool) {
        (false, false) => (pick(rng, INDIAN_MALE), pick(rng, INDIAN_LAST)),
        (false, true) => (pick(rng, INDIAN_FEMALE), pick(rng, INDIAN_LAST)),
        (true, false) => (pick(rng, INTL_MALE), pick(rng, INTL_LAST)),
        (true, true) => (pick(rng, INTL_FEMALE), pick(rng, INTL_LAST)),
    };
    let middle = (!international && rng.random_bool(0.1)).then(|| (*pick(rng, MIDDLE_NAMES)).to_owned());
    Name { first: (*first).to_owned(), middle, last: (*last).to_owned(), gender, indian: !international }
}

/// First-name pool by origin and gender.
pub(super) fn given_names(indian: bool, female: bool) -> &'static [&'static str] {
    match (indian, female) {
        (true, false) => INDIAN_MALE,
        (true, true) => INDIAN_FEMALE,
        (false, false) => INTL_MALE,
        (false, true) => INTL_FEMALE,
    }
}

pub(super) fn mobile<R: Rng + ?Sized>(rng: &mut R, country: &str) -> String {
    match country {
        "GB" => format!("+44 7{} {}", digits(rng, 3), digits(rng, 6)),
        "SG" => format!("+65 {}{} {}", pick(rng, &["8", "9"]), digits(rng, 3), digits(rng, 4)),
        _ => format!("+91 {}{}", pick(rng, &["98", "99", "97", "96", "91", "88", "70"]), digits(rng, 8)),
    }
}

fn landline<R: Rng + ?Sized>(rng: &mut R, country: &str) -> String {
    match country {
        "GB" => format!("+44 20 {} {}", digits(rng, 4), digits(rng, 4)),
        "SG" => format!("+65 6{} {}", digits(rng, 3), digits(rng, 4)),
        _ => format!("+91 80 {} {}", digits(rng, 4), digits(rng, 4)),
    }
}

pub(super) fn street_address<R: Rng + ?Sized>(
    rng: &mut R,
    city: &str,
    state: &str,
    zip: String,
    country: &str,
) -> Address {
    Address {
        line1: format!("{}, {}", rng.random_range(1..400), pick(rng, STREETS)),
        line2: rng.random_bool(0.5).then(|| format!("Flat {}{:02}", rng.random_range(1..15), rng.random_range(1..20))),
        country_code: country.to_owned(),
        city: city.to_owned(),
        state: state.to_owned(),
        zip,
    }
}

/// `date` moved `years` years back (Feb 29 falls back to Feb 28).
pub(super) fn years_before(date: NaiveDate, years: i32) -> NaiveDate {
    date.with_year(date.year() - years)
        .or_else(|| date.pred_opt().and_then(|d| d.with_year(d.year() - years)))
        .expect("valid date")
}

pub(super) fn generate<R: Rng + ?Sized>(rng: &mut R, params: &TenantParams, org: &Org) -> People {
    let n = params.employees;
    let today = params.today;
    let founding = shift(today, -3650);
    let (nodes, heads) = build_tree(rng, n, org);

    let mut has_reports = vec![false; nodes.len()];
    for node in &nodes {
        if let Some(m) = node.manager {
            has_reports[m] = true;
        }
    }

    // Locations: teams tend to sit with their manager; go-to-market teams lean to the
    // international offices.
    let mut location = vec![0usize; nodes.len()];
    for (i, node) in nodes.iter().enumerate().skip(1) {
        let inherit = node.manager.filter(|_| rng.random_bool(0.6));
        location[i] = match inherit {
            Some(m) if nodes[m].role != Role::Ceo => location[m],
            _ => {
                let gtm = org.departments[node.department].business_unit == org.departments[7].business_unit;
                let weights: Vec<f64> = org
                    .locations
                    .iter()
                    .zip(&org.location_weights)
                    .map(|(loc, w)| if gtm && loc.address.country_code != "IN" { w * 3.0 } else { *w })
                    .collect();
                weighted(rng, &weights)
            }
        };
    }

    // Joining dates: the CEO founded the company ten years ago, heads joined early, the rest
    // skew recent (a growing company), managers a little older on average.
    let joining: Vec<NaiveDate> = nodes
        .iter()
        .map(|node| match node.role {
            Role::Ceo => founding,
            Role::Vp => shift(founding, rng.random_range(0..900)),
            role => {
                let exponent = if role == Role::Manager { 0.8 } else { 1.3 };
                let days_ago = (3640.0 * rng.random::<f64>().powf(exponent)) as i64;
                shift(today, -days_ago).max(shift(founding, 1))
            }
        })
        .collect();

    // Exits: ~6.5% relieved (individual contributors only, so nobody reports to a leaver),
    // ~2.5% currently serving notice.
    let mut relieved = vec![false; nodes.len()];
    let mut notice = vec![false; nodes.len()];
    let mut eligible: Vec<usize> =
        (1..nodes.len()).filter(|&i| !has_reports[i] && joining[i] <= shift(today, -90)).collect();
    eligible.shuffle(rng);
    let relieved_count = ((nodes.len() as f64) * 0.065).round() as usize;
    for &i in eligible.iter().take(relieved_count) {
        relieved[i] = true;
    }
    let mut serving: Vec<usize> =
        (1..nodes.len()).filter(|&i| !relieved[i] && joining[i] <= shift(today, -60)).collect();
    serving.shuffle(rng);
    let notice_count = ((nodes.len() as f64) * 0.025).round() as usize;
    for &i in serving.iter().take(notice_count) {
        notice[i] = true;
    }

    let managers: Vec<usize> = (0..nodes.len()).filter(|&i| has_reports[i]).collect();
    let mut used_emails: HashSet<String> = HashSet::with_capacity(n);
    let mut employees: Vec<Employee> = Vec::with_capacity(n);

    for (i, node) in nodes.iter().enumerate() {
        let dept = &org.departments[node.department];
        let loc = &org.locations[location[i]];
        let country = loc.address.country_code.as_str();
        let international = if country == "IN" { rng.random_bool(0.06) } else { rng.random_bool(0.75) };
        let name = random_name(rng, international);
        let joined = joining[i];

        // Work e-mail first.last@domain, numbered on collision.
        let base = format!("{}.{}", slug(&name.first), slug(&name.last));
        let mut local = base.clone();
        let mut k = 2;
        while !used_emails.insert(local.clone()) {
            local = format!("{base}{k}");
            k += 1;
        }
        let email = format!("{local}@{}", org.company_domain());
        let personal_email = rng.random_bool(0.9).then(|| {
            format!(
                "{}{}{}@{}",
                slug(&name.first),
                pick(rng, &[".", "_", ""]),
                slug(&name.last),
                pick(rng, PERSONAL_MAIL_DOMAINS)
            )
        });

        // Age at joining by seniority.
        let age_range = match node.role {
            Role::Ceo => 32..41,
            Role::Vp => 35..50,
            Role::Manager => 29..45,
            Role::Individual => 21..38,
        };
        let age_at_join: i32 = rng.random_range(age_range);
        let date_of_birth = shift(years_before(joined, age_at_join), -rng.random_range(0..365));
        let prior_experience_days = i64::from((age_at_join - 22).max(0)) * 365 + rng.random_range(0..200);
        let total_years = (prior_experience_days + (today - joined).num_days()) / 365;

        let (title, band) = match node.role {
            Role::Ceo => (org.ceo_title, 5),
            Role::Vp => (org.vp_title, 4),
            Role::Manager => (dept.titles[2], 3),
            Role::Individual if total_years >= 5 => (dept.titles[1], 2),
            Role::Individual => (dept.titles[0], usize::from(total_years >= 2)),
        };

        // Lifecycle.
        let mut exit_date = None;
        let mut resignation = None;
        let mut exit_type = ExitType::None;
        let mut exit_status = ExitStatus::None;
        let mut exit_reason = None;
        if relieved[i] {
            let earliest = shift(joined, 60).max(shift(today, -730));
            let exit = date_between(rng, earliest, shift(today, -1));
            let company_action = rng.random_bool(0.15);
            exit_type = if company_action { ExitType::CompanyAction } else { ExitType::EmployeeResignation };
            exit_status = ExitStatus::Completed;
            exit_date = Some(exit);
            resignation = Some(shift(exit, -rng.random_range(14..90)).max(joined));
            exit_reason =
                Some((*pick(rng, if company_action { TERMINATION_REASONS } else { EXIT_REASONS })).to_owned());
        } else if notice[i] {
            let submitted = shift(today, -rng.random_range(0..45));
            resignation = Some(submitted);
            exit_date = Some(shift(submitted, *pick(rng, &[60, 60, 90, 30])).max(shift(today, 1)));
            exit_type = ExitType::EmployeeResignation;
            exit_status = ExitStatus::Initiated;
            exit_reason = Some((*pick(rng, EXIT_REASONS)).to_owned());
        }
        let employment_status = if relieved[i] { EmploymentStatus::Relieved } else { EmploymentStatus::Working };

        let contingent = node.role == Role::Individual && rng.random_bool(0.04);
        let probation_end_date = (!contingent && node.role != Role::Ceo && rng.random_bool(0.85))
            .then(|| shift(joined, *pick(rng, &[180, 180, 180, 90])))
            .filter(|end| !relieved[i] || *end <= today);

        let recent = (today - joined).num_days() < 14;
        let (account_status, invitation_status) = if relieved[i] {
            (AccountStatus::Disabled, 1)
        } else if recent && rng.random_bool(0.5) {
            (AccountStatus::NotRegistered, u8::from(rng.random_bool(0.7)))
        } else {
            (AccountStatus::Registered, 1)
        };

        let age_today = years_between(date_of_birth, today);
        let marital_status = match age_today {
            a if a < 25 => {
                if rng.random_bool(0.05) {
                    MaritalStatus::Married
                } else {
                    MaritalStatus::Single
                }
            }
            a if a < 30 => {
                if rng.random_bool(0.45) {
                    MaritalStatus::Married
                } else {
                    MaritalStatus::Single
                }
            }
            a => match weighted(rng, &[18.0, 80.0, if a > 45 { 1.0 } else { 0.0 }, 1.0]) {
                0 => MaritalStatus::Single,
                1 => MaritalStatus::Married,
                2 => MaritalStatus::Widowed,
                _ => MaritalStatus::Separated,
            },
        };
        let marriage_date = matches!(marital_status, MaritalStatus::Married | MaritalStatus::Widowed).then(|| {
            let from = years_before(date_of_birth, -23);
            let to = years_before(date_of_birth, -35).min(shift(today, -30));
            date_between(rng, from, to.max(from))
        });

        let mut relations = Vec::new();
        if marriage_date.is_some() {
            let spouse_female = name.gender != Gender::Female;
            let first = pick(rng, given_names(name.indian, spouse_female));
            relations.push(Relation {
                id: Guid::random(rng),
                relation_type: 3,
                gender: if spouse_female { Gender::Female } else { Gender::Male },
                first_name: (*first).to_owned(),
                last_name: name.last.clone(),
                email: None,
                date_of_birth: Some(shift(date_of_birth, rng.random_range(-1500..1500))),
                profession: Some((*pick(rng, PROFESSIONS)).to_owned()),
                mobile: Some(mobile(rng, country)),
            });
            if age_today > 32 && rng.random_bool(0.5) {
                let female = rng.random_bool(0.5);
                let first = pick(rng, given_names(name.indian, female));
                let born = date_between(rng, shift(marriage_date.unwrap_or(today), 300), shift(today, -30));
                relations.push(Relation {
                    id: Guid::random(rng),
                    relation_type: 4,
                    gender: if female { Gender::Female } else { Gender::Male },
                    first_name: (*first).to_owned(),
                    last_name: name.last.clone(),
                    email: None,
                    date_of_birth: Some(born),
                    profession: None,
                    mobile: None,
                });
            }
        }
        if rng.random_bool(0.5) {
            relations.push(Relation {
                id: Guid::random(rng),
                relation_type: 1,
                gender: Gender::Male,
                first_name: (*pick(rng, if name.indian { INDIAN_MALE } else { INTL_MALE })).to_owned(),
                last_name: name.last.clone(),
                email: None,
                date_of_birth: Some(years_before(date_of_birth, rng.random_range(24..35))),
                profession: Some((*pick(rng, PROFESSIONS)).to_owned()),
                mobile: Some(mobile(rng, country)),
            });
        }

        let ug_start = years_before(date_of_birth, -18).with_month(7).unwrap_or(date_of_birth);
        let (degree, branch) = *pick(rng, DEGREES);
        let mut education = vec![undergraduate(rng, (degree, branch), ug_start)];
        if rng.random_bool(0.3) {
            let (degree, branch) = *pick(rng, POSTGRAD);
            let start = years_before(ug_start, -rng.random_range(4..7));
            if start < joined {
                education.push(Education {
                    id: Guid::random(rng),
                    degree: degree.to_owned(),
                    branch: branch.to_owned(),
                    university: (*pick(rng, UNIVERSITIES)).to_owned(),
                    cgpa: f64::from(rng.random_range(60..98u32)) / 10.0,
                    year_of_joining: start,
                    year_of_completion: years_before(start, -2),
                });
            }
        }

        // Previous jobs fill the prior experience, back to back, ending shortly before joining.
        let mut experience = Vec::new();
        if prior_experience_days > 180 {
            let jobs = rng.random_range(1..=3).min((prior_experience_days / 365).max(1) as usize);
            let mut end = shift(joined, -rng.random_range(1..30));
            let per_job = prior_experience_days / jobs as i64;
            for _ in 0..jobs {
                let start = shift(end, -per_job);
                experience.push(Experience {
                    id: Guid::random(rng),
                    company_name: (*pick(rng, PAST_EMPLOYERS)).to_owned(),
                    job_title: org.job_titles[dept.titles[0]].name.clone(),
                    location: loc.address.city.clone(),
                    description: None,
                    date_of_joining: start,
                    date_of_relieving: end,
                });
                end = shift(start, -1);
            }
        }

        let mut custom_fields =
            vec![CustomFieldValue { field: 0, value: (*pick(rng, &["S", "M", "L", "XL", "XXL"])).to_owned() }];
        if rng.random_bool(0.9) {
            custom_fields.push(CustomFieldValue { field: 1, value: format!("ACME-LT-{}", digits(rng, 5)) });
        }

        let mut groups = vec![dept.business_unit, dept.group, loc.group, dept.cost_center];
        if dept.technical && rng.random_bool(0.15) {
            groups.push(*pick(rng, &org.project_teams));
        }
        let (guilds, committees) = org.custom_groups.split_at(4.min(org.custom_groups.len()));
        if rng.random_bool(if dept.technical { 0.12 } else { 0.03 }) {
            groups.extend(guilds.choose(rng).copied());
        }
        if rng.random_bool(if node.department == super::org::HR_DEPARTMENT { 0.3 } else { 0.02 }) {
            groups.extend(committees.choose(rng).copied());
        }

        let zip = if country == "IN" {
            format!("{}{}", &loc.address.zip[..4], digits(rng, 2))
        } else {
            loc.address.zip.clone()
        };
        let current_address = street_address(rng, &loc.address.city, &loc.address.state, zip, country);
        let permanent_address = if name.indian && rng.random_bool(0.55) {
            let (city, state, zip) = *pick(rng, HOME_TOWNS);
            let zip = format!("{zip}{}", digits(rng, 2));
            street_address(rng, city, state, zip, "IN")
        } else {
            current_address.clone()
        };

        let nationality = if name.indian {
            "Indian".to_owned()
        } else {
            match country {
                "GB" if rng.random_bool(0.85) => "British".to_owned(),
                "SG" if rng.random_bool(0.85) => "Singaporean".to_owned(),
                _ => (*pick(rng, &["American", "British", "Australian", "German", "Canadian", "Japanese"])).to_owned(),
            }
        };

        let modified_day = if let Some(exit) = exit_date.filter(|_| relieved[i]) {
            shift(exit, rng.random_range(0..4)).min(today)
        } else if let Some(submitted) = resignation {
            shift(submitted, rng.random_range(0..3)).min(today)
        } else {
            date_between(rng, joined.max(shift(today, -400)), today)
        };
        let last_modified = at_office_time(rng, modified_day);

        let country_index = match country {
            "GB" => 1,
            "SG" => 2,
            _ => 0,
        };
        let policies = EmployeePolicies {
            leave_plan: country_index,
            band,
            pay_grade: band,
            shift_policy: location[i],
            weekly_off_policy: usize::from(loc.saturday_half_day),
            capture_scheme: usize::from(country != "IN"),
            tracking_policy: usize::from(dept.technical),
            expense_policy: usize::from(dept.name == "Sales"),
            overtime_policy: matches!(dept.name, "Operations" | "IT").then_some(0),
        };

        employees.push(Employee {
            id: Guid::random(rng),
            employee_number: String::new(),
            display_name: format!("{} {}", name.first, name.last),
            first_name: name.first,
            middle_name: name.middle,
            last_name: name.last,
            email,
            personal_email,
            nationality,
            has_image: rng.random_bool(0.7),
            job_title: title,
            secondary_job_title: rng
                .random_bool(0.05)
                .then(|| (*pick(rng, &["Scrum Master", "Mentor", "Fire Warden", "First Aider"])).to_owned()),
            reports_to: node.manager,
            dotted_line_manager: None,
            depth: node.depth,
            contingent_type: contingent.then(|| rng.random_range(0..org.lookups.contingent_types.len())),
            time_type: if rng.random_bool(0.03) { TimeType::PartTime } else { TimeType::FullTime },
            worker_type: if contingent { WorkerType::Contingent } else { WorkerType::Permanent },
            is_private: rng.random_bool(0.02),
            is_profile_complete: rng.random_bool(if recent { 0.5 } else { 0.92 }),
            marital_status,
            marriage_date,
            gender: name.gender,
            joining_date: joined,
            prior_experience_days,
            professional_summary: rng.random_bool(0.3).then(|| (*pick(rng, PROFESSIONAL_SUMMARIES)).to_owned()),
            date_of_birth,
            resignation_submitted_date: resignation,
            exit_date,
            employment_status,
            account_status,
            invitation_status,
            exit_status,
            exit_type,
            exit_reason,
            work_phone: rng.random_bool(0.5).then(|| landline(rng, country)),
            home_phone: rng.random_bool(0.1).then(|| landline(rng, country)),
            mobile_phone: mobile(rng, country),
            blood_group: if rng.random_bool(0.1) { 0 } else { rng.random_range(1..=8) },
            attendance_number: String::new(),
            probation_end_date,
            current_address,
            permanent_address,
            relations,
            education,
            experience,
            custom_fields,
            groups,
            department: node.department,
            location: location[i],
            policies,
            last_modified,
        });
        let employee = employees.last_mut().expect("just pushed");
        employee.custom_fields.extend(super::custom_fields::values(employee.id, joined, ORG_CUSTOM_FIELDS));
    }

    // Dotted-line managers: a manager from elsewhere in the company for ~4% of people.
    if managers.len() > 2 {
        for (i, e) in employees.iter_mut().enumerate().skip(1) {
            if rng.random_bool(0.04) {
                let candidate = *pick(rng, &managers);
                if candidate != i && Some(candidate) != e.reports_to && !relieved[candidate] {
                    e.dotted_line_manager = Some(candidate);
                }
            }
        }
    }

    // Employee numbers follow joining order; the table is then stored in that order.
    let mut order: Vec<usize> = (0..employees.len()).collect();
    order.sort_by_key(|&i| (employees[i].joining_date, i));
    let mut new_index = vec![0; employees.len()];
    for (rank, &old) in order.iter().enumerate() {
        new_index[old] = rank;
    }
    let mut slots: Vec<Option<Employee>> = employees.into_iter().map(Some).collect();
    let mut employees: Vec<Employee> =
        order.iter().map(|&old| slots[old].take().expect("each employee moved once")).collect();
    for (rank, e) in employees.iter_mut().enumerate() {
        e.employee_number = format!("{}{:05}", org.company.employee_number_prefix, rank + 1);
        e.attendance_number = format!("{}", 10_000 + rank + 1);
        e.reports_to = e.reports_to.map(|m| new_index[m]);
        e.dotted_line_manager = e.dotted_line_manager.map(|m| new_index[m]);
    }

    let departments = org
        .departments
        .iter()
        .enumerate()
        .map(|(d, t)| Department {
            id: org.groups[t.group].id,
            group: t.group,
            name: t.name.to_owned(),
            description: t.description.to_owned(),
            parent: t.parent,
            is_archived: t.is_archived,
            heads: heads[d].map(|h| new_index[h]).into_iter().collect(),
            last_modified: t.last_modified,
        })
        .collect();
    People { employees, departments }
}

impl Org {
    /// Domain of work e-mail addresses.
    fn company_domain(&self) -> &str {
        &self.company.domain
    }
}

/// A four-year degree started on `ug_start` (for generated people and for hires alike).
pub(super) fn undergraduate<R: Rng + ?Sized>(
    rng: &mut R,
    (degree, branch): (&str, &str),
    ug_start: NaiveDate,
) -> Education {
    Education {
        id: Guid::random(rng),
        degree: degree.to_owned(),
        branch: branch.to_owned(),
        university: (*pick(rng, UNIVERSITIES)).to_owned(),
        cgpa: f64::from(rng.random_range(60..98u32)) / 10.0,
        year_of_joining: ug_start,
        year_of_completion: years_before(ug_start, -4),
    }
}

//! Invariants of the generated tenant.

use std::collections::HashSet;

use chrono::{Datelike, Weekday};

use super::{steps_to_root, today};
use crate::tenant::{DayType, EmploymentStatus, ExitStatus, LeaveStatus, SystemGroupType, Tenant, TenantParams};
use crate::wire;

fn generate(seed: u64, employees: usize) -> Tenant {
    Tenant::generate(TenantParams { seed, employees, today: today(), location_ids_match_groups: true })
}

#[test]
fn same_seed_same_data_different_seed_different_ids() {
    let a = generate(7, 300);
    let b = generate(7, 300);
    let c = generate(8, 300);
    let ids = |t: &Tenant| t.employees.iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(
        serde_json::to_value(wire::employee(&a, &a.employees[17])).unwrap(),
        serde_json::to_value(wire::employee(&b, &b.employees[17])).unwrap()
    );
    let leave = |t: &Tenant| t.leave_requests.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(leave(&a), leave(&b));
    assert_eq!(a.jobs.iter().map(|j| j.id).collect::<Vec<_>>(), b.jobs.iter().map(|j| j.id).collect::<Vec<_>>());
    assert_eq!(a.attendance(5, today()), b.attendance(5, today()));

    let a_ids: HashSet<_> = ids(&a).into_iter().collect();
    assert!(ids(&c).iter().all(|id| !a_ids.contains(id)));
    assert_ne!(a.groups[0].id, c.groups[0].id);
}

#[test]
fn manager_tree_is_single_rooted_acyclic_and_consistent() {
    let t = generate(42, 2_000);
    let n = t.employees.len();
    let roots: Vec<_> = t.employees.iter().filter(|e| e.reports_to.is_none()).collect();
    assert_eq!(roots.len(), 1, "exactly one CEO");
    assert_eq!(t.root().map(|e| e.id), Some(roots[0].id));

    let mut reports = vec![0usize; n];
    for (i, e) in t.employees.iter().enumerate() {
        assert_eq!(steps_to_root(&t, i), e.depth as usize, "depth of {}", e.employee_number);
        if let Some(m) = e.reports_to {
            reports[m] += 1;
            assert_eq!(t.employees[m].employment_status, EmploymentStatus::Working, "nobody reports to a leaver");
        }
        if let Some(d) = e.dotted_line_manager {
            assert_ne!(Some(d), e.reports_to);
            assert_ne!(d, i);
        }
    }
    let root = t.employees.iter().position(|e| e.reports_to.is_none()).unwrap();
    for (i, &r) in reports.iter().enumerate() {
        if i != root {
            assert!(r <= 10, "span of {} is {r}", t.employees[i].employee_number);
        }
    }
    assert!(t.employees.iter().any(|e| e.dotted_line_manager.is_some()));

    // Reports mostly share their manager's department.
    let with_manager: Vec<_> = t.employees.iter().filter(|e| e.reports_to.is_some_and(|m| m != root)).collect();
    let same = with_manager.iter().filter(|e| t.employees[e.reports_to.unwrap()].department == e.department).count();
    assert!(same * 100 >= with_manager.len() * 80, "{same} of {}", with_manager.len());

    // l2Manager on the wire is the manager's manager.
    for e in t.employees.iter().take(300) {
        let json = serde_json::to_value(wire::employee(&t, e)).unwrap();
        let expected_l2 = e.reports_to.and_then(|m| t.employees[m].reports_to).map(|m| t.employees[m].id.to_string());
        assert_eq!(json["l2Manager"]["id"].as_str().map(str::to_owned), expected_l2);
    }
}

#[test]
fn everyone_has_the_four_system_groups() {
    let t = generate(42, 500);
    for e in &t.employees {
        for kind in [
            SystemGroupType::BusinessUnit,
            SystemGroupType::Department,
            SystemGroupType::OrgLocation,
            SystemGroupType::CostCenter,
        ] {
            let count = e.groups.iter().filter(|&&g| t.groups[g].kind == kind).count();
            assert_eq!(count, 1, "{} has {count} groups of {kind:?}", e.employee_number);
        }
        assert_eq!(t.employee_group(e, SystemGroupType::Department).unwrap().id, t.departments[e.department].id);
        assert_eq!(
            t.employee_group(e, SystemGroupType::OrgLocation).unwrap().id,
            t.groups[t.locations[e.location].group].id
        );
    }
    assert!(t.employees.iter().any(|e| e.groups.iter().any(|&g| t.groups[g].kind == SystemGroupType::ProjectTeam)));
    assert!(t.employees.iter().any(|e| e.groups.iter().any(|&g| t.groups[g].kind == SystemGroupType::None)));
    assert!(t.group_types.iter().any(|g| !g.is_system_defined && g.system_group_type == SystemGroupType::None));
    // Departments are the Department groups; heads are real employees.
    for d in &t.departments {
        assert!(t.groups.iter().any(|g| g.id == d.id && g.kind == SystemGroupType::Department));
        assert!(d.heads.iter().all(|&h| h < t.employees.len()));
    }
    assert!((20..=40).contains(&t.job_titles.len()), "{} titles", t.job_titles.len());
    for l in &t.locations {
        assert_eq!(l.id, t.groups[l.group].id);
    }
    let distinct =
        Tenant::generate(TenantParams { seed: 42, employees: 50, today: today(), location_ids_match_groups: false });
    for l in &distinct.locations {
        assert_ne!(l.id, distinct.groups[l.group].id);
    }
}

#[test]
fn employment_lifecycle_is_plausible() {
    let t = generate(42, 2_000);
    let n = t.employees.len() as f64;
    let relieved: Vec<_> = t.employees.iter().filter(|e| e.employment_status == EmploymentStatus::Relieved).collect();
    let share = relieved.len() as f64 / n;
    assert!((0.05..=0.08).contains(&share), "relieved share {share}");
    for e in &relieved {
        assert!(e.exit_date.unwrap() < today());
        assert_eq!(e.exit_status, ExitStatus::Completed);
        assert!(e.resignation_submitted_date.is_some());
    }
    assert!(t.employees.iter().any(|e| e.in_notice_period(today())));
    assert!(t.employees.iter().filter(|e| e.in_probation(today())).count() > 20);
    let emails: HashSet<_> = t.employees.iter().map(|e| e.email.to_lowercase()).collect();
    assert_eq!(emails.len(), t.employees.len(), "work e-mails are unique");
    assert!(t.employees.iter().all(|e| e.email.ends_with("@acme.example")));
    let earliest = t.employees.iter().map(|e| e.joining_date).min().unwrap();
    assert!((today() - earliest).num_days() >= 9 * 365);
    // Numbers follow joining order.
    assert!(t.employees.windows(2).all(|w| w[0].employee_number < w[1].employee_number));
    assert!(t.employees.windows(2).all(|w| w[0].joining_date <= w[1].joining_date));
}

#[test]
fn leave_and_hire_data_reference_real_records() {
    let t = generate(42, 1_000);
    let statuses: HashSet<_> = t.leave_requests.iter().map(|r| r.status as u8).collect();
    assert_eq!(statuses.len(), 5, "all leave statuses represented");
    assert!(t.leave_requests.iter().any(|r| r.days == 0.5));
    assert!(t.leave_requests.iter().any(|r| r.days >= 2.0));
    for r in &t.leave_requests {
        assert!(r.from_date <= r.to_date);
        assert!(r.employee < t.employees.len() && r.leave_type < t.leave_types.len());
        assert!((r.from_date - today()).num_days().abs() <= 130);
        assert!(r.requested_on <= r.last_action_taken_on);
    }
    for (i, _) in t.employees.iter().enumerate() {
        let own: Vec<_> = t.leave_requests_of(i).collect();
        for (a, b) in own.iter().zip(own.iter().skip(1)) {
            assert!(a.to_date < b.from_date, "overlapping leave for employee {i}");
        }
    }
    // A few percent of people are out on a working day.
    let day = today() - chrono::Duration::days(7);
    let out = t.leave_requests.iter().filter(|r| r.status == LeaveStatus::Approved && r.overlaps(day, day)).count();
    assert!((5..=100).contains(&out), "{out} of 1000 out on {day}");
    assert_eq!(t.leave_balances.len(), t.employees.len());
    assert!(t.leave_types.iter().any(|l| !l.is_paid));

    assert!((10..=25).contains(&t.jobs.len()));
    for j in &t.jobs {
        assert!(!j.hiring_team.is_empty());
        assert!(j.hiring_team.iter().all(|m| m.employee < t.employees.len()));
        assert!(!j.locations.is_empty());
        assert!(t.candidates_of(t.job_index(j.id).unwrap()).iter().all(|c| c.job == t.job_index(j.id).unwrap()));
    }
    assert!(t.candidates.iter().any(|c| c.archived.is_some()));
    assert!(t.candidates.iter().any(|c| c.archived.is_none()));
    assert!((10..=30).contains(&t.preboarding.len()));
}

#[test]
fn attendance_is_computed_per_day() {
    let t = generate(42, 300);
    let mut forgot_punch_out = 0;
    let mut present = 0;
    for i in 0..t.employees.len() {
        for back in 1..30 {
            let date = today() - chrono::Duration::days(back);
            let Some(day) = t.attendance(i, date) else {
                assert!(!t.employees[i].employed_on(date));
                continue;
            };
            if matches!(date.weekday(), Weekday::Sun) {
                assert_eq!(day.day_type, DayType::FullDayWeeklyOff);
                assert!(day.first_in.is_none() && day.last_out.is_none());
            }
            if day.first_in.is_some() {
                present += 1;
                if day.last_out.is_none() {
                    forgot_punch_out += 1;
                } else {
                    assert!(day.total_gross_hours > 0.0);
                    assert!(day.total_effective_hours <= day.total_gross_hours);
                }
            }
        }
    }
    assert!(present > 1000);
    assert!(forgot_punch_out > 0);
    assert_eq!(t.attendance(3, today()), t.attendance(3, today()));
}

#[test]
fn ten_thousand_employees() {
    let t = generate(42, 10_000);
    assert_eq!(t.employees.len(), 10_000);
    let depth = t.employees.iter().map(|e| e.depth).max().unwrap();
    assert!((5..=7).contains(&depth), "depth {depth}");
}

#[test]
fn tiny_tenants_render_everything() {
    let json = |v: &dyn erased::Render| v.render();
    for n in [0, 1, 2, 3, 7] {
        let t = generate(3, n);
        assert_eq!(t.employees.len(), n);
        for e in &t.employees {
            json(&wire::employee(&t, e));
            for back in 0..10 {
                let date = today() - chrono::Duration::days(back);
                let i = t.employee_index(e.id).unwrap();
                if let Some(day) = t.attendance(i, date) {
                    json(&wire::attendance(&t, day));
                }
            }
        }
        for (i, _) in t.employees.iter().enumerate() {
            json(&wire::leave_balance(&t, i, |_| true));
        }
        t.groups.iter().for_each(|g| json(&wire::group(&t, g)));
        t.group_types.iter().for_each(|g| json(&wire::group_type(g)));
        t.departments.iter().for_each(|d| json(&wire::department(&t, d)));
        t.locations.iter().for_each(|l| json(&wire::location(l)));
        t.job_titles.iter().for_each(|j| json(&wire::job_title(j)));
        t.leave_types.iter().for_each(|l| json(&wire::leave_type(l)));
        t.leave_requests.iter().for_each(|r| json(&wire::leave_request(&t, r)));
        t.jobs.iter().for_each(|j| json(&wire::job(&t, j)));
        t.candidates.iter().for_each(|c| json(&wire::candidate(&t, c)));
        t.preboarding.iter().for_each(|p| json(&wire::preboarding(&t, p)));
    }
}

/// Object-safe "serialise me" so one closure can take every wire type.
mod erased {
    pub(super) trait Render {
        fn render(&self);
    }

    impl<T: serde::Serialize> Render for T {
        fn render(&self) {
            serde_json::to_string(self).expect("serialises");
        }
    }
}

//! temp
#[test]
fn gen_speed() {
    use crate::sandbox::tenant::{Tenant, TenantParams};
    let t0 = std::time::Instant::now();
    let t = Tenant::generate(TenantParams {
        seed: 42,
        employees: 10_000,
        today: chrono::NaiveDate::from_ymd_opt(2025, 6, 16).unwrap(),
        location_ids_match_groups: true,
    });
    eprintln!(
        "gen 10k: {:?}, requests {}, max depth {}",
        t0.elapsed(),
        t.leave_requests.len(),
        t.employees.iter().map(|e| e.depth).max().unwrap()
    );
}

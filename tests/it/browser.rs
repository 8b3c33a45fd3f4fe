//! GraphiQL without a CDN: the page and its assets come from the subgraph itself, under a strict
//! Content-Security-Policy. One test drives the page in headless Chromium (`tests/federation/browser.mjs`,
//! puppeteer-core), the others read it over plain HTTP.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use serde_json::Value;
use tokio::process::Command;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/federation")
}

/// Chromium as the browser script finds it: `CHROMIUM`, or Debian's `/usr/bin/chromium`.
fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Fails (never skips) with what to install when Node, the Node packages or Chromium are missing.
fn require_browser_tools() {
    let node = std::process::Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|output| output.status.success()),
        "the browser test needs Node.js 20+ and npm on PATH (e.g. `apt-get install nodejs npm`), then `npm ci` in tests/federation"
    );
    assert!(
        node_dir().join("node_modules/puppeteer-core").is_dir(),
        "puppeteer-core is not installed: run `npm ci` in tests/federation (scripts/test does it)"
    );
    let chromium = chromium();
    assert!(
        chromium.is_file(),
        "the browser test needs Chromium at {} (`apt-get install chromium`, which .ci/run does), or its path in CHROMIUM",
        chromium.display()
    );
}

/// The values of every `name="…"` attribute in `html`, in order.
fn attribute_values<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let marker = format!(" {name}=\"");
    html.split(marker.as_str()).skip(1).filter_map(|rest| rest.split('"').next()).collect()
}

/// The same-origin paths the page loads (scripts, stylesheets), in order.
fn asset_paths(html: &str) -> Vec<String> {
    let mut paths: Vec<String> =
        attribute_values(html, "src").into_iter().chain(attribute_values(html, "href")).map(str::to_owned).collect();
    paths.retain(|path| path.starts_with('/') && !path.starts_with("//"));
    paths
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.http.get(format!("http://{}{path}", app.address)).send().await.unwrap()
}

#[tokio::test]
async fn graphiql_runs_the_default_query_in_headless_chromium_with_nothing_from_another_origin() {
    require_browser_tools();
    let app = spawn_app(120).await;
    let artifacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).expect("target/test-artifacts can be created");
    let screenshot = artifacts.join("graphiql.png");
    let _ = std::fs::remove_file(&screenshot);

    let child = Command::new("node")
        .arg(node_dir().join("browser.mjs"))
        .arg(format!("http://{}/", app.address))
        .env("CHROMIUM", chromium())
        .env("SCREENSHOT", &screenshot)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    // Dropping the child on timeout kills it; the script closes its browser on every other way out.
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the browser script ends within 120 s")
        .expect("the browser script's output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("the browser script printed no JSON result ({}): {stdout}", output.status));

    assert!(output.status.success() && report["ok"] == true, "GraphiQL in Chromium failed: {report:#}");
    assert_eq!(report["offOrigin"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["title"], "keka-subgraph", "{report:#}");
    assert_eq!(report["employees"].as_array().map(Vec::len), Some(5), "{report:#}");
    let origin = format!("http://{}", app.address);
    let requests = report["requests"].as_array().expect("the requests the page made");
    assert!(requests.iter().any(|url| url.as_str().is_some_and(|url| url.ends_with("/graphql"))), "{report:#}");
    assert!(requests.iter().all(|url| url.as_str().is_some_and(|url| url.starts_with(&origin))), "{report:#}");
    let png = std::fs::read(&screenshot).expect("the browser script saved a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{} is not a PNG", screenshot.display());
    app.stop().await;
}

#[tokio::test]
async fn the_graphiql_page_and_its_assets_come_from_the_subgraph_under_a_strict_policy() {
    let app = spawn_app(10).await;
    let page = get(&app, "/").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert_eq!(page.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");
    let policy = page.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    let directive = |name: &str| {
        policy
            .split(';')
            .map(str::trim)
            .find_map(|directive| directive.strip_prefix(name).filter(|rest| rest.starts_with(' ')))
            .unwrap_or_else(|| panic!("no {name} in {policy}"))
            .trim()
            .to_owned()
    };
    assert_eq!(directive("default-src"), "'self'");
    assert_eq!(directive("script-src"), "'self'", "scripts from this origin only: no inline script, no eval");
    assert_eq!(directive("connect-src"), "'self'");
    assert_eq!(directive("frame-ancestors"), "'none'");
    assert!(!policy.contains("http:") && !policy.contains("https:") && !policy.contains('*'), "{policy}");

    let html = page.text().await.unwrap();
    assert!(html.contains("<title>keka-subgraph</title>"), "{html}");
    // No URL of another host, and no inline script.
    for scheme in ["http://", "https://"] {
        for (at, _) in html.match_indices(scheme) {
            let url = &html[at..];
            assert!(url.starts_with(&format!("http://{}/", app.address)), "the page names another host: {url:.80}");
        }
    }
    assert!(!html.contains("//unpkg"), "{html}");
    assert_eq!(html.matches("<script").count(), attribute_values(&html, "src").len(), "an inline script: {html}");

    let assets = asset_paths(&html);
    assert!(assets.len() >= 4, "scripts and stylesheets: {assets:?}");
    for path in &assets {
        let asset = get(&app, path).await;
        assert_eq!(asset.status(), StatusCode::OK, "{path}");
        let content_type = asset.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
        let expected = if path.ends_with(".js") {
            "text/javascript"
        } else if path.ends_with(".css") {
            "text/css"
        } else {
            panic!("an asset of no known kind: {path}")
        };
        assert!(content_type.starts_with(expected), "{path}: {content_type}");
        assert_eq!(asset.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert!(!asset.bytes().await.unwrap().is_empty(), "{path}");
    }
    assert_eq!(get(&app, "/graphiql/no-such-file.js").await.status(), StatusCode::NOT_FOUND);

    // A browser opening `/graphql` gets the same page, with the same policy.
    let browser = app.http.get(format!("http://{}/graphql", app.address)).header("accept", "text/html").send().await;
    let browser = browser.unwrap();
    assert_eq!(browser.headers()[CONTENT_SECURITY_POLICY], policy.as_str());
    assert_eq!(browser.text().await.unwrap(), html);
    app.stop().await;
}

#[tokio::test]
async fn with_graphiql_switched_off_neither_the_page_nor_its_assets_are_served() {
    let on = spawn_app(10).await;
    let assets = asset_paths(&get(&on, "/").await.text().await.unwrap());
    on.stop().await;
    assert!(!assets.is_empty());

    let off = spawn_app_with(10, |settings| settings.graphiql = false).await;
    for path in std::iter::once("/").chain(assets.iter().map(String::as_str)) {
        assert_eq!(get(&off, path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let browser = off.http.get(format!("http://{}/graphql", off.address)).header("accept", "text/html").send().await;
    let browser = browser.unwrap();
    let content_type = browser.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    assert!(!content_type.starts_with("text/html"), "{content_type}");
    off.stop().await;
}

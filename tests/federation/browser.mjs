// Opens the subgraph's GraphiQL page in headless Chromium and runs the default query, as a person would.
// Fails when the page requests anything from another origin, logs a console error, breaks its
// Content-Security-Policy, throws, or does not show an answer. Prints one JSON line to stdout;
// exit code 0 on success, 1 on failure. See README.md ("GraphiQL in a real browser").
//
//   node browser.mjs http://127.0.0.1:4001/
//
// Environment: CHROMIUM (default /usr/bin/chromium), SCREENSHOT (PNG path, optional),
// BROWSER_STEP_TIMEOUT_MS (each wait; default 30000).
import puppeteer from 'puppeteer-core';

const pageUrl = process.argv[2] ?? process.env.GRAPHIQL_URL;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const screenshot = process.env.SCREENSHOT || null;
const stepTimeout = Number(process.env.BROWSER_STEP_TIMEOUT_MS || 30000);

const started = Date.now();
const report = {
  ok: false,
  url: pageUrl ?? null,
  origin: null,
  requests: [],
  offOrigin: [],
  failedRequests: [],
  consoleErrors: [],
  cspViolations: [],
  pageErrors: [],
};

function done(extra) {
  Object.assign(report, extra, { ms: Date.now() - started });
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

// Schemes that never leave the browser.
const LOCAL_SCHEMES = new Set(['data:', 'blob:', 'about:']);

// What the page did wrong so far.
function problems() {
  const found = [];
  if (report.offOrigin.length) found.push(`requests left ${report.origin}: ${report.offOrigin.join(', ')}`);
  if (report.failedRequests.length) found.push(`failed requests: ${report.failedRequests.join('; ')}`);
  if (report.consoleErrors.length) found.push(`console errors: ${report.consoleErrors.join(' | ')}`);
  if (report.cspViolations.length) found.push(`CSP violations: ${report.cspViolations.join(' | ')}`);
  if (report.pageErrors.length) found.push(`page errors: ${report.pageErrors.join(' | ')}`);
  return found;
}

// `promise`, or `fallback` once `ms` have passed (for clean-up that must not hang).
async function within(ms, promise, fallback) {
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

// The page under test, for a screenshot when a step fails.
let currentPage = null;

// Runs one awaited step, naming it in the error when it fails (a timeout alone does not say what was awaited).
async function step(name, action) {
  try {
    return await action();
  } catch (error) {
    throw new Error(`${name}: ${error?.message ?? error}`);
  }
}

async function run(browser) {
  const origin = new URL(pageUrl).origin;
  report.origin = origin;
  const page = await browser.newPage();
  currentPage = page;
  page.setDefaultTimeout(stepTimeout);
  await page.setViewport({ width: 1400, height: 900 });

  // Every request is recorded; one to another origin is blocked (the test never reaches the internet) and fails it.
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    const url = request.url();
    const parsed = new URL(url);
    if (LOCAL_SCHEMES.has(parsed.protocol)) {
      request.continue();
      return;
    }
    report.requests.push(url);
    if (parsed.origin !== origin) {
      report.offOrigin.push(url);
      request.abort('blockedbyclient');
      return;
    }
    request.continue();
  });
  page.on('requestfailed', (request) => {
    report.failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) report.failedRequests.push(`${response.url()}: HTTP ${response.status()}`);
  });
  page.on('console', (message) => {
    if (message.type() === 'error') report.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => report.pageErrors.push(String(error?.message ?? error)));
  // CSP violations as the page sees them (Chromium also logs each as a console error).
  await page.evaluateOnNewDocument(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || '(inline)'}`);
    });
  });

  const response = await page.goto(pageUrl, { waitUntil: 'load', timeout: stepTimeout });
  if (!response || response.status() !== 200) throw new Error(`GET ${pageUrl}: ${response?.status()}`);
  const csp = response.headers()['content-security-policy'] ?? null;
  // A page that already went wrong while loading (e.g. reached for a CDN) fails now, not after a wait.
  report.cspViolations.push(...(await page.evaluate(() => window.__cspViolations.splice(0))));
  const early = problems();
  if (early.length) throw new Error(early.join('; '));

  // The editor shows the default query (CodeMirror 5 keeps its editor on the wrapper element).
  await step('the editor shows the default query', () =>
    page.waitForFunction(
      () => {
        const editor = document.querySelector('.graphiql-query-editor .CodeMirror');
        return editor?.CodeMirror?.getValue().includes('directReports');
      },
      { timeout: stepTimeout },
    ),
  );
  const query = await page.evaluate(() =>
    document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue(),
  );

  await step('click the run button', () => page.click('.graphiql-execute-button'));
  await step('the result pane shows the answer', () =>
    page.waitForFunction(
      () => {
        const text = document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror?.getValue() ?? '';
        return text.includes('"totalCount"') && text.includes('"displayName"');
      },
      { timeout: stepTimeout },
    ),
  );
  const resultText = await page.evaluate(() =>
    document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue(),
  );
  if (screenshot) await page.screenshot({ path: screenshot });

  // The schema arrived too (GraphiQL introspects it): the documentation explorer lists our types.
  await step('open the documentation explorer', () =>
    page.click('.graphiql-sidebar button[aria-label="Show Documentation Explorer"]'),
  );
  await step('the documentation explorer lists the schema', () =>
    page.waitForFunction(
      () => {
        const text = document.querySelector('.graphiql-doc-explorer')?.textContent ?? '';
        return text.includes('query: Query') && text.includes('EmployeeConnection');
      },
      { timeout: stepTimeout },
    ),
  );
  report.cspViolations.push(...(await page.evaluate(() => window.__cspViolations)));

  const result = JSON.parse(resultText);
  const employees = result?.data?.employees;
  const found = problems();
  if (!csp) found.push('the page has no Content-Security-Policy header');
  if (result.errors) found.push(`the query answered errors: ${JSON.stringify(result.errors)}`);
  if (!Array.isArray(employees?.nodes) || employees.nodes.length !== 5) found.push('expected 5 employees');
  return {
    ok: found.length === 0,
    error: found.length ? found.join('; ') : undefined,
    csp,
    title: await page.title(),
    queryLines: query.split('\n').length,
    totalCount: employees?.totalCount ?? null,
    employees: employees?.nodes?.map((node) => node.displayName) ?? [],
    screenshot,
  };
}

async function main() {
  if (!pageUrl) {
    done({ error: 'usage: node browser.mjs <GraphiQL page URL> (or GRAPHIQL_URL)' });
    return 1;
  }
  let browser;
  try {
    browser = await puppeteer.launch({
      executablePath,
      headless: true,
      timeout: stepTimeout,
      // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
    });
    const outcome = await run(browser);
    done(outcome);
    return outcome.ok ? 0 : 1;
  } catch (error) {
    // What the page did wrong explains a timeout better than the timeout's stack.
    const found = problems();
    const message = String(error?.message ?? error);
    // The screenshot shows how far the page got.
    if (screenshot && currentPage) {
      await within(10000, currentPage.screenshot({ path: screenshot }).catch(() => {}), undefined);
    }
    done({ error: [...found.filter((problem) => !message.includes(problem)), message].join('; ') });
    return 1;
  } finally {
    if (browser) {
      // Closing is bounded too: a browser that does not close in time is killed.
      const closed = browser.close().then(
        () => true,
        () => false,
      );
      if (!(await within(10000, closed, false))) browser.process()?.kill('SIGKILL');
    }
  }
}

process.exitCode = await main();

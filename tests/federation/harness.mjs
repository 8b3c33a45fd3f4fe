// Federation test harness for the Keka subgraph.
//
// One Node process that:
//   1. reads the running Keka subgraph (KEKA_SUBGRAPH_URL): its SDL (`_service { sdl }`) and the
//      first 60 employees (ids, emails, office ids) to build deterministic fake data;
//   2. starts two small @apollo/subgraph apps on 127.0.0.1 (random ports):
//        - "assets":    IT devices, extends Employee @key(id) with `devices`; Query.devices points
//                       back at Employee and Office (owned by our subgraph); Query.vaultItems points at
//                       our DirectoryAccount (Keeper) by id, for the first 20 accounts we list;
//        - "directory": identity-provider accounts, extends Employee @key(email) with `account`;
//                       Query.accounts points back at Employee by email;
//   3. composes the three subgraphs with @apollo/composition (errors -> stderr, exit 1);
//   4. serves the supergraph with @apollo/gateway + @apollo/server on 127.0.0.1 (random port),
//      recording every subgraph fetch;
//   5. serves a control API on 127.0.0.1 (random port):
//        GET /fetches        -> JSON array of {subgraph, operationName, isEntities, representations}
//        POST /fetches/reset -> clears the list
//        GET /supergraph     -> the composed supergraph SDL
//   6. prints exactly one stdout line `READY {json}` and runs until SIGTERM/SIGINT or stdin closes.
//
// COMPOSE_ONLY=1: compose only (our SDL from EXTRA_SDL_FILE if set, else fetched), print one line
// `COMPOSED {"errors":[...],"hints":[...],"supergraph":"..."|null}` and exit 0 (composed) / 1 (errors).
//
// Other environment variables:
//   STRIP_SECURITY_DIRECTIVES=1  remove @requiresScopes/@authenticated/@policy applications from our
//                                SDL before composing (@apollo/gateway refuses SECURITY features);
//   HARNESS_STEP_TIMEOUT_MS      bound on each startup wait (default 30000);
//   HARNESS_STARTUP_TIMEOUT_MS   bound on the whole startup (default 60000).
//
// stdout carries only the READY / COMPOSED line; every log goes to stderr.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

import { composeServices } from '@apollo/composition';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

// Keep stdout for the single protocol line: libraries that log with console.log/info go to stderr.
const writeStdoutLine = (line) => process.stdout.write(`${line}\n`);
console.log = (...args) => console.error(...args);
console.info = (...args) => console.error(...args);
console.debug = (...args) => console.error(...args);

const log = (...args) => console.error('[federation-harness]', ...args);

/** Bound on every single wait at startup (HTTP call, server start, composition). */
const STEP_TIMEOUT_MS = positiveInt(process.env.HARNESS_STEP_TIMEOUT_MS, 30_000);
/** Bound on the whole startup, whatever hangs. */
const STARTUP_TIMEOUT_MS = positiveInt(process.env.HARNESS_STARTUP_TIMEOUT_MS, 60_000);
/** Bound on shutdown: servers that do not stop in time are abandoned. */
const SHUTDOWN_TIMEOUT_MS = 10_000;
/** How many employees the fake data is built from. */
const SEED_EMPLOYEES = 60;
const HOST = '127.0.0.1';

function positiveInt(value, fallback) {
  const n = Number.parseInt(value ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

class StartupError extends Error {}

/** Rejects after `ms` with a message naming what was waited for. */
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new StartupError(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// Talking to our subgraph
// ---------------------------------------------------------------------------------------------

/**
 * POSTs a GraphQL query to `url` and returns `data`. Retries connection failures until the step
 * deadline (the subgraph may still be binding), fails at once on GraphQL errors.
 */
async function graphqlRequest(url, query, what) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  let lastError;
  for (let attempt = 1; Date.now() < deadline; attempt += 1) {
    const remaining = Math.max(1, deadline - Date.now());
    let response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query }),
        signal: AbortSignal.timeout(remaining),
      });
    } catch (error) {
      lastError = error;
      if (error?.name === 'TimeoutError') break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * attempt, 1_000, remaining)));
      continue;
    }
    const text = await response.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      throw new StartupError(`${what}: HTTP ${response.status} from ${url}, not JSON: ${text.slice(0, 500)}`);
    }
    if (body.errors?.length) {
      throw new StartupError(`${what}: GraphQL errors from ${url}: ${JSON.stringify(body.errors).slice(0, 2_000)}`);
    }
    if (!response.ok || !body.data) {
      throw new StartupError(`${what}: HTTP ${response.status} from ${url}: ${text.slice(0, 500)}`);
    }
    return body.data;
  }
  throw new StartupError(
    `${what}: no answer from ${url} within ${STEP_TIMEOUT_MS} ms (${describeFetchError(lastError)})`,
  );
}

function describeFetchError(error) {
  if (!error) return 'no attempt finished';
  const cause = error.cause;
  const detail = cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message;
  return detail ? `${error.message}: ${detail}` : String(error.message ?? error);
}

async function fetchKekaSdl(url) {
  const data = await graphqlRequest(url, '{ _service { sdl } }', 'fetching our SDL');
  const sdl = data?._service?.sdl;
  if (typeof sdl !== 'string' || sdl.trim() === '') {
    throw new StartupError(`fetching our SDL: ${url} returned no _service.sdl`);
  }
  return sdl;
}

async function fetchSeedEmployees(url) {
  const data = await graphqlRequest(
    url,
    `{ employees(first: ${SEED_EMPLOYEES}) { nodes { id email office { id } } } }`,
    'fetching seed employees',
  );
  const nodes = data?.employees?.nodes;
  if (!Array.isArray(nodes) || nodes.length === 0) {
    throw new StartupError(`fetching seed employees: ${url} returned no employees`);
  }
  return nodes.map((n) => ({ id: String(n.id), email: n.email ?? null, officeId: n.office?.id ?? null }));
}

/** The ids of the first 20 Keeper accounts our subgraph lists (none when it has no directory). */
async function fetchSeedAccountIds(url) {
  const body = JSON.stringify({ query: '{ directoryAccounts(first: 20) { nodes { id } } }' });
  const response = await withTimeout(
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
    STEP_TIMEOUT_MS,
    'fetching seed accounts',
  );
  const json = await response.json();
  return (json?.data?.directoryAccounts?.nodes ?? []).map((node) => String(node.id));
}

// Security directives (router-enforced) make @apollo/gateway refuse the supergraph. With
// STRIP_SECURITY_DIRECTIVES=1 they are removed from our SDL before composition (tests only: nothing
// enforces them on that path).
const SECURITY_DIRECTIVE = '(?:federation__)?(?:requiresScopes|policy|authenticated)';

function stripSecurityDirectives(sdl) {
  return sdl
    .replace(new RegExp(`^\\s*directive\\s+@${SECURITY_DIRECTIVE}\\b[^\\n]*\\n`, 'gm'), '')
    // Applications only: a quoted "@requiresScopes" in the @link import list is left alone.
    .replace(new RegExp(`(?<!")@${SECURITY_DIRECTIVE}\\s*\\([^)]*\\)`, 'g'), '')
    .replace(new RegExp(`(?<!")@${SECURITY_DIRECTIVE}\\b(?!")`, 'g'), '');
}

// ---------------------------------------------------------------------------------------------
// Deterministic fake data
// ---------------------------------------------------------------------------------------------

const digest = (text) => createHash('sha256').update(String(text)).digest();

const MODELS = ['ThinkPad T14', 'MacBook Pro 14', 'Dell Latitude 7440', 'iPhone 15', 'Pixel 8', 'HP EliteBook 840'];
const DAY_MS = 86_400_000;
const EPOCH_2021 = Date.UTC(2021, 0, 1);

/** Employee id -> office id, as our subgraph reported it for the seed employees. */
const officeByEmployee = new Map();

/** 1–2 devices per employee, derived from a hash of the id: `SN-<first 8 chars of id>-<n>`. */
function devicesFor(employeeId) {
  const h = digest(`devices:${employeeId}`);
  const count = 1 + (h[0] % 2);
  const officeId = officeByEmployee.get(employeeId) ?? null;
  const devices = [];
  for (let n = 1; n <= count; n += 1) {
    const k = digest(`device:${employeeId}:${n}`);
    devices.push({
      serial: `SN-${employeeId.slice(0, 8)}-${n}`,
      model: MODELS[k[0] % MODELS.length],
      assignedAt: k[1] % 5 === 0 ? null : new Date(EPOCH_2021 + (k.readUInt16BE(2) % 1_500) * DAY_MS).toISOString().slice(0, 10),
      ownerId: employeeId,
      // About two devices in three sit in their owner's office (when we know it).
      officeId: officeId && k[4] % 3 !== 0 ? officeId : null,
    });
  }
  return devices;
}

/** A directory account for a work email: login = the email, lower-cased; about one in five suspended. */
function accountFor(email) {
  if (typeof email !== 'string' || email === '') return null;
  const h = digest(`account:${email.toLowerCase()}`);
  return { login: email.toLowerCase(), status: h[0] % 5 === 0 ? 'SUSPENDED' : 'ACTIVE', email };
}

// ---------------------------------------------------------------------------------------------
// The two helper subgraphs
// ---------------------------------------------------------------------------------------------

const ASSETS_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])

  type Employee @key(fields: "id") {
    id: ID!
    devices: [Device!]!
  }

  type Device {
    serial: ID!
    model: String!
    assignedAt: String
    owner: Employee!
    office: Office
  }

  type Office @key(fields: "id", resolvable: false) {
    id: ID!
  }

  type DirectoryAccount @key(fields: "id", resolvable: false) {
    id: ID!
  }

  type VaultItem {
    name: String!
    sharedWith: [DirectoryAccount!]!
  }

  type Query {
    devices: [Device!]!
    vaultItems: [VaultItem!]!
  }
`;

// Our subgraph's Employee.email is a nullable String; the directory declares the key field with the
// same type so composition needs no INCONSISTENT_BUT_COMPATIBLE_FIELD_TYPE hint.
const DIRECTORY_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])

  type Employee @key(fields: "email") {
    email: String
    account: IdpAccount
  }

  type IdpAccount {
    login: String!
    status: String!
    employee: Employee
  }

  type Query {
    accounts: [IdpAccount!]!
  }
`;

/** Four vault items, each shared with five of the seed accounts (every account exactly once). */
function vaultItemsFor(accountIds) {
  const names = ['Production database', 'Payroll portal', 'Office Wi-Fi', 'Cloud root account'];
  return names.map((name, n) => ({ name, sharedWith: accountIds.slice(n * 5, n * 5 + 5).map((id) => ({ id })) }));
}

function assetsResolvers(seed, accountIds) {
  const rootDevices = seed.map((employee) => devicesFor(employee.id)[0]);
  const vaultItems = vaultItemsFor(accountIds);
  return {
    Query: { devices: () => rootDevices, vaultItems: () => vaultItems },
    Employee: {
      __resolveReference: (ref) => ({ id: String(ref.id) }),
      devices: (employee) => devicesFor(String(employee.id)),
    },
    Device: {
      owner: (device) => ({ id: device.ownerId }),
      office: (device) => (device.officeId ? { id: device.officeId } : null),
    },
  };
}

function directoryResolvers(seed) {
  const rootAccounts = seed.map((employee) => accountFor(employee.email)).filter(Boolean);
  return {
    Query: { accounts: () => rootAccounts },
    Employee: {
      __resolveReference: (ref) => ({ email: ref.email ?? null }),
      account: (employee) => accountFor(employee.email),
    },
    IdpAccount: {
      employee: (account) => ({ email: account.email }),
    },
  };
}

/** Starts an @apollo/server over a subgraph schema on 127.0.0.1, port 0. */
async function startSubgraph(name, typeDefs, resolvers) {
  const server = new ApolloServer({
    schema: buildSubgraphSchema([{ typeDefs: parse(typeDefs), resolvers }]),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
    stopOnTerminationSignals: false,
  });
  const { url } = await withTimeout(
    startStandaloneServer(server, { listen: { host: HOST, port: 0 } }),
    STEP_TIMEOUT_MS,
    `starting the ${name} subgraph`,
  );
  log(`${name} subgraph at ${url}`);
  return { server, url };
}

// ---------------------------------------------------------------------------------------------
// Composition
// ---------------------------------------------------------------------------------------------

function compose(kekaUrl, kekaSdl, assetsUrl, directoryUrl) {
  const parsed = (name, sdl) => {
    try {
      return parse(sdl);
    } catch (error) {
      throw new StartupError(`the ${name} SDL does not parse: ${error.message}`);
    }
  };
  const result = composeServices([
    { name: 'keka', url: kekaUrl, typeDefs: parsed('keka', kekaSdl) },
    { name: 'assets', url: assetsUrl, typeDefs: parsed('assets', ASSETS_SDL) },
    { name: 'directory', url: directoryUrl, typeDefs: parsed('directory', DIRECTORY_SDL) },
  ]);
  const errors = (result.errors ?? []).map((e) => (e.extensions?.code ? `[${e.extensions.code}] ${e.message}` : e.message));
  const hints = (result.hints ?? []).map((h) => h.toString());
  return { errors, hints, supergraph: errors.length === 0 ? result.supergraphSdl ?? null : null };
}

/** The `@link(... for: SECURITY)` features of a supergraph (which @apollo/gateway refuses). */
function securityFeatures(supergraph) {
  return [...supergraph.matchAll(/@link\(\s*url:\s*"([^"]+)"[^)]*for:\s*SECURITY/g)].map((m) => m[1]);
}

// ---------------------------------------------------------------------------------------------
// Gateway with fetch recording, and the control server
// ---------------------------------------------------------------------------------------------

const fetches = [];

class RecordingDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request }) {
    const query = request.query ?? '';
    const representations = request.variables?.representations;
    fetches.push({
      subgraph: this.subgraphName,
      operationName: request.operationName ?? null,
      isEntities: query.includes('_entities'),
      representations: Array.isArray(representations) ? representations.length : 0,
    });
  }
}

async function startGateway(supergraphSdl) {
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) => {
      const source = new RecordingDataSource({ url });
      source.subgraphName = name;
      return source;
    },
  });
  // stopOnTerminationSignals: false, here and above: the harness handles SIGTERM/SIGINT itself
  // (Apollo Server's own handlers would race with ours and re-raise the signal).
  const server = new ApolloServer({ gateway, stopOnTerminationSignals: false });
  const { url } = await withTimeout(
    startStandaloneServer(server, { listen: { host: HOST, port: 0 } }),
    STEP_TIMEOUT_MS,
    'starting the gateway',
  );
  log(`gateway at ${url}`);
  return { server, url };
}

async function startControlServer(supergraphSdl) {
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://control').pathname;
    const send = (status, type, body) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    req.resume(); // bodies are ignored
    if (req.method === 'GET' && path === '/fetches') {
      send(200, 'application/json', JSON.stringify(fetches));
    } else if (req.method === 'POST' && path === '/fetches/reset') {
      const cleared = fetches.length;
      fetches.length = 0;
      send(200, 'application/json', JSON.stringify({ cleared }));
    } else if (req.method === 'GET' && path === '/supergraph') {
      send(200, 'text/plain; charset=utf-8', supergraphSdl);
    } else {
      send(404, 'application/json', JSON.stringify({ error: `no route ${req.method} ${path}` }));
    }
  });
  await withTimeout(
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: HOST, port: 0 }, () => {
        server.off('error', reject);
        resolve();
      });
    }),
    STEP_TIMEOUT_MS,
    'starting the control server',
  );
  const { port } = server.address();
  const url = `http://${HOST}:${port}`;
  log(`control server at ${url}`);
  return { server, url };
}

// ---------------------------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------------------------

/** Everything started so far, stopped in reverse order. */
const running = [];
let shuttingDown = false;

async function stopAll() {
  const stops = running.reverse().map(({ name, stop }) =>
    Promise.resolve()
      .then(stop)
      .catch((error) => log(`stopping ${name} failed: ${error?.message ?? error}`)),
  );
  await withTimeout(Promise.all(stops), SHUTDOWN_TIMEOUT_MS, 'stopping servers').catch((error) => log(error.message));
}

async function shutdown(reason, code = 0) {
  if (shuttingDown) return;
  shuttingDown = true;
  log(`stopping (${reason})`);
  await stopAll();
  process.exit(code);
}

async function fail(error) {
  const message = error instanceof StartupError ? error.message : error?.stack ?? String(error);
  log(`startup failed: ${message}`);
  if (!shuttingDown) {
    shuttingDown = true;
    await stopAll();
  }
  process.exit(1);
}

function watchForStop({ stdin }) {
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  if (!stdin) return;
  // The Rust test holds our stdin (a pipe) open and drops it to stop us. A stdin that is /dev/null
  // or a file would end at once, so it is only watched when it is a pipe, a socket or a terminal.
  let watch = false;
  try {
    const stat = fs.fstatSync(0);
    watch = stat.isFIFO() || stat.isSocket() || Boolean(process.stdin.isTTY);
  } catch {
    watch = false;
  }
  if (!watch) {
    log('stdin is not a pipe or terminal: stop with SIGTERM/SIGINT');
    return;
  }
  process.stdin.on('data', () => {});
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.stdin.on('close', () => shutdown('stdin closed'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}

function requireKekaUrl() {
  const url = process.env.KEKA_SUBGRAPH_URL;
  if (!url) throw new StartupError('KEKA_SUBGRAPH_URL is not set (e.g. http://127.0.0.1:4001/graphql)');
  try {
    new URL(url);
  } catch {
    throw new StartupError(`KEKA_SUBGRAPH_URL is not a URL: ${url}`);
  }
  return url;
}

async function composeOnly() {
  let kekaSdl;
  let kekaUrl;
  if (process.env.EXTRA_SDL_FILE) {
    try {
      kekaSdl = fs.readFileSync(process.env.EXTRA_SDL_FILE, 'utf8');
    } catch (error) {
      throw new StartupError(`cannot read EXTRA_SDL_FILE ${process.env.EXTRA_SDL_FILE}: ${error.message}`);
    }
    kekaUrl = process.env.KEKA_SUBGRAPH_URL || 'http://127.0.0.1:4001/graphql';
    log(`composing with our SDL from ${process.env.EXTRA_SDL_FILE}`);
  } else {
    kekaUrl = requireKekaUrl();
    kekaSdl = await fetchKekaSdl(kekaUrl);
  }
  // The helper subgraphs are not started: their URLs only end up in the supergraph text.
  const result = compose(kekaUrl, kekaSdl, 'http://127.0.0.1:4102/', 'http://127.0.0.1:4103/');
  for (const error of result.errors) log(`composition error: ${error}`);
  for (const hint of result.hints) log(`composition hint: ${hint}`);
  writeStdoutLine(`COMPOSED ${JSON.stringify(result)}`);
  process.exit(result.errors.length === 0 ? 0 : 1);
}

async function serve() {
  const kekaUrl = requireKekaUrl();
  log(`our subgraph: ${kekaUrl}`);

  let kekaSdl = await fetchKekaSdl(kekaUrl);
  if (process.env.STRIP_SECURITY_DIRECTIVES === '1') {
    kekaSdl = stripSecurityDirectives(kekaSdl);
    log('STRIP_SECURITY_DIRECTIVES=1: security directives removed from our SDL before composition');
  }
  const seed = await fetchSeedEmployees(kekaUrl);
  for (const employee of seed) {
    if (employee.officeId) officeByEmployee.set(employee.id, employee.officeId);
  }
  log(`seed: ${seed.length} employees, ${officeByEmployee.size} with an office`);

  const accountIds = await fetchSeedAccountIds(kekaUrl);
  log(`seed: ${accountIds.length} Keeper accounts`);
  const assets = await startSubgraph('assets', ASSETS_SDL, assetsResolvers(seed, accountIds));
  running.push({ name: 'assets', stop: () => assets.server.stop() });
  const directory = await startSubgraph('directory', DIRECTORY_SDL, directoryResolvers(seed));
  running.push({ name: 'directory', stop: () => directory.server.stop() });

  const composed = compose(kekaUrl, kekaSdl, assets.url, directory.url);
  for (const hint of composed.hints) log(`composition hint: ${hint}`);
  if (composed.errors.length > 0) {
    for (const error of composed.errors) log(`composition error: ${error}`);
    throw new StartupError(`composition failed with ${composed.errors.length} error(s)`);
  }
  const security = securityFeatures(composed.supergraph);
  if (security.length > 0) {
    throw new StartupError(
      `the supergraph uses SECURITY feature(s) ${security.join(', ')}, which @apollo/gateway refuses to load; ` +
        'serve the subgraph without access-control directives (ACCESS_DIRECTIVES=none) or set STRIP_SECURITY_DIRECTIVES=1',
    );
  }

  const gateway = await startGateway(composed.supergraph);
  running.push({ name: 'gateway', stop: () => gateway.server.stop() });
  const control = await startControlServer(composed.supergraph);
  running.push({
    name: 'control',
    stop: () =>
      new Promise((resolve) => {
        control.server.close(() => resolve());
        control.server.closeAllConnections?.();
      }),
  });

  writeStdoutLine(
    `READY ${JSON.stringify({ gateway: gateway.url, control: control.url, assets: assets.url, directory: directory.url })}`,
  );
}

async function main() {
  const composeOnlyMode = process.env.COMPOSE_ONLY === '1';
  watchForStop({ stdin: !composeOnlyMode });
  const startupWatchdog = setTimeout(
    () => fail(new StartupError(`startup did not finish within ${STARTUP_TIMEOUT_MS} ms`)),
    STARTUP_TIMEOUT_MS,
  );
  try {
    if (composeOnlyMode) {
      await composeOnly().catch((error) => {
        // Still answer with one COMPOSED line, so the caller always has something to parse.
        const message = error instanceof StartupError ? error.message : String(error?.message ?? error);
        writeStdoutLine(`COMPOSED ${JSON.stringify({ errors: [message], hints: [], supergraph: null })}`);
        throw error;
      });
    } else {
      await serve();
    }
  } finally {
    clearTimeout(startupWatchdog);
  }
}

process.on('unhandledRejection', (error) => {
  log(`unhandled rejection: ${error?.stack ?? error}`);
});

main().catch(fail);

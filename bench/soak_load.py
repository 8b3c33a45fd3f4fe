#!/usr/bin/env python3
"""Load generator, fault conductor, memory sampler and report writer of bench/soak.sh.

Standard library only. bench/soak.sh builds the binary, starts the sandbox and the subgraph and stops them; this
script does the rest in two steps:

    soak_load.py run CONFIG.json RESULTS.json      # warm-up, phased faults under mixed load, final checks
    soak_load.py report RESULTS.json EXTRA.json    # the markdown report (stdout) with its PASS/FAIL verdict

`run` is bounded in time (duration + one client timeout for the requests in flight + bounded warm-up and
checks) and in requests (max_requests); every HTTP exchange it makes has a timeout.
"""

import http.client
import json
import os
import random
import re
import sys
import threading
import time
import urllib.parse

# ------------------------------------------------------------------------------------------------------------
# HTTP
# ------------------------------------------------------------------------------------------------------------


class Http:
    """One keep-alive connection to one origin, re-opened after any failure."""

    def __init__(self, origin, timeout):
        parsed = urllib.parse.urlsplit(origin)
        self.host, self.port = parsed.hostname, parsed.port
        self.timeout = timeout
        self.conn = None
        self.reused = False

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        """Returns (status, body bytes, headers dict). Raises on transport failures (after one quiet retry when a
        reused keep-alive connection turned out to be closed by the server)."""
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self.reused = False
            reused = self.reused
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                data = response.read()
                self.reused = True
                if response.getheader("connection", "").lower() == "close":
                    self.close()
                return response.status, data, {k.lower(): v for k, v in response.getheaders()}
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as error:
                self.close()
                if attempt == 0 and reused:
                    continue
                raise error
            except Exception:
                self.close()
                raise
        raise RuntimeError("unreachable")


def now():
    return time.monotonic()


def admin(origin, method, path, payload=None, timeout=10):
    """One request to the sandbox's admin API or a subgraph endpoint; (status, parsed JSON or text)."""
    client = Http(origin, timeout)
    try:
        body = json.dumps(payload).encode() if payload is not None else None
        headers = {"content-type": "application/json"} if body is not None else {}
        status, data, _ = client.request(method, path, body, headers)
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, data.decode("utf-8", "replace")
    except Exception as error:  # noqa: BLE001 - reported, never fatal
        return 0, f"{type(error).__name__}: {error}"
    finally:
        client.close()


def gql_once(origin, query, variables=None, operation=None, timeout=60, request_id=None):
    payload = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    if operation:
        payload["operationName"] = operation
    client = Http(origin, timeout)
    headers = {"content-type": "application/json"}
    if request_id:
        headers["x-request-id"] = request_id
    started = now()
    try:
        status, data, _ = client.request("POST", "/graphql", json.dumps(payload).encode(), headers)
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = None
        return status, parsed, now() - started
    except Exception as error:  # noqa: BLE001
        return 0, {"transport_error": f"{type(error).__name__}: {error}"}, now() - started
    finally:
        client.close()


# ------------------------------------------------------------------------------------------------------------
# Prometheus text
# ------------------------------------------------------------------------------------------------------------

METRIC_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+([^\s]+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    samples = []
    if not isinstance(text, str):
        return samples
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = METRIC_LINE.match(line)
        if not match:
            continue
        labels = dict(LABEL.findall(match.group(3) or ""))
        try:
            value = float(match.group(4))
        except ValueError:
            continue
        samples.append((match.group(1), labels, value))
    return samples


def metric_sum(samples, name, **wanted):
    return sum(v for n, labels, v in samples if n == name and all(labels.get(k) == w for k, w in wanted.items()))


def metrics_digest(text):
    """The counters the report uses, from one scrape."""
    s = parse_metrics(text)
    upstream_status = {}
    for n, labels, v in s:
        if n == "keka_subgraph_upstream_requests_total":
            key = f'{labels.get("upstream")} {labels.get("status")}'
            upstream_status[key] = upstream_status.get(key, 0) + v
    outcomes = {}
    for n, labels, v in s:
        if n == "keka_subgraph_graphql_requests_total":
            outcomes[labels.get("outcome")] = outcomes.get(labels.get("outcome"), 0) + v
    snapshot_age = {labels.get("snapshot"): v for n, labels, v in s if n == "keka_subgraph_snapshot_age_seconds"}
    return {
        "ok": bool(s),
        "keka_retries": metric_sum(s, "keka_subgraph_upstream_retries_total", upstream="keka"),
        "keeper_retries": metric_sum(s, "keka_subgraph_upstream_retries_total", upstream="keeper"),
        "keka_token_refreshes": metric_sum(s, "keka_subgraph_upstream_token_refreshes_total", upstream="keka"),
        "keeper_token_refreshes": metric_sum(s, "keka_subgraph_upstream_token_refreshes_total", upstream="keeper"),
        "keka_throttled": metric_sum(s, "keka_subgraph_upstream_throttled_total", upstream="keka"),
        "keeper_throttled": metric_sum(s, "keka_subgraph_upstream_throttled_total", upstream="keeper"),
        "in_flight": metric_sum(s, "keka_subgraph_graphql_requests_in_flight"),
        "cache_hit": metric_sum(s, "keka_subgraph_cache_requests_total", result="hit"),
        "cache_miss": metric_sum(s, "keka_subgraph_cache_requests_total", result="miss"),
        "upstream_status": upstream_status,
        "outcomes": outcomes,
        "snapshot_age": snapshot_age,
    }


# ------------------------------------------------------------------------------------------------------------
# Queries
# ------------------------------------------------------------------------------------------------------------

WARMUP_EMPLOYEES = """query SoakWarmupEmployees($cursor: String) {
  employees(first: 100, after: $cursor) { totalCount pageInfo { hasNextPage endCursor } nodes { id email } }
}"""

DIRECTORY_PAGE = """query SoakDirectoryAccounts($cursor: String) {
  directoryAccounts(first: 100, after: $cursor) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id userName status teams { name } }
  }
}"""

# The warm-up's walk also asks for each account's employee: an address held by several accounts or employees is an
# `AMBIGUOUS_DIRECTORY_MATCH` error by design (those accounts are left out of the entity requests).
DIRECTORY_WARMUP = """query SoakWarmupDirectory($cursor: String) {
  directoryAccounts(first: 100, after: $cursor) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id userName status teams { name } employee { id } }
  }
}"""

ACCESS_REVIEW = """query SoakAccessReview { accessReview {
  asOf nodeId accountsReviewed employeesReviewed
  relievedWithActiveAccount { count items { employee { id displayName employmentStatus } account { id userName status } exitDate daysSinceExit } }
  accountsWithoutEmployee { count items { id userName displayName status teams { name } } }
  workingEmployeesWithoutAccount { count items { id displayName email } }
  ambiguousMatches { count items { email accounts { userName } employees { displayName } } }
} }"""

ENTITIES_MIXED = """query SoakEntitiesMixed($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Employee { id email displayName manager { id } }
    ... on DirectoryAccount { id userName status employee { id } }
  }
}"""

# Hostile or broken requests, with what the subgraph must answer: (HTTP status, extensions.code of the first error).
DEEP = "{ employees(first: 1) { nodes { " + "manager { " * 20 + "id" + " }" * 20 + " } } }"
ALIASES = "{ " + " ".join(f"a{i}: employees(first: 1) {{ totalCount }}" for i in range(40)) + " }"
HOSTILE = {
    "h_malformed_graphql": ('{"query": "{ employees(first: 10 { nodes { id } }"}', 200, "GRAPHQL_PARSE_FAILED"),
    "h_not_json": ("this is not JSON {", 400, "BAD_REQUEST"),
    "h_bad_cursor": (json.dumps({"query": '{ employees(first: 10, after: "bm90LWEtY3Vyc29y") { nodes { id } } }'}),
                     200, "BAD_USER_INPUT"),
    "h_first_10000": (json.dumps({"query": "{ employees(first: 10000) { nodes { id displayName } } }"}),
                      200, "BAD_USER_INPUT"),
    "h_too_deep": (json.dumps({"query": DEEP}), 200, "QUERY_TOO_DEEP"),
    "h_too_many_aliases": (json.dumps({"query": ALIASES}), 200, "TOO_MANY_ALIASES"),
    "h_unknown_typename": (json.dumps({
        "query": "query($representations: [_Any!]!) { _entities(representations: $representations) "
                 "{ ... on Employee { id displayName } } }",
        "variables": {"representations": [{"__typename": "Employee", "id": "x"},
                                           {"__typename": "Payroll", "id": "1"}]}}), 200, "BAD_USER_INPUT"),
    "h_oversized_body": (json.dumps({"query": "{ employees(first: 1) { totalCount } }", "padding": "x" * 300_000}),
                         413, None),
}

MIX = [  # (kind, weight); weights sum to 100: 84 % legitimate queries, 16 % hostile or broken requests
    ("q1", 12), ("q2", 10), ("q3", 10), ("q4", 10), ("q5", 10),
    ("access_review", 6), ("directory_accounts", 8), ("entities_mixed", 8),
    ("h_malformed_graphql", 3), ("h_not_json", 2), ("h_bad_cursor", 2), ("h_first_10000", 2), ("h_too_deep", 2),
    ("h_too_many_aliases", 2), ("h_unknown_typename", 2), ("h_oversized_body", 1),
]


def phases_for(duration, latency_ms):
    """(name, weight, Keka faults, Keeper faults, what else happens). Weights are shares of the duration."""
    clean = {}
    spec = [
        ("clean-start", 0.75, clean, clean, "no faults"),
        ("keka-500", 1, {"error_rate": 0.2}, clean, "20 % of Keka API requests answered 500"),
        ("keka-timeout", 1, {"latency_ms": latency_ms}, clean,
         f"every Keka API answer delayed {latency_ms} ms (beyond the client's request timeout)"),
        ("keka-malformed-json", 1, {"malformed_json_rate": 0.3}, clean, "30 % of Keka answers: 200 with truncated JSON"),
        ("keka-html-502", 1, {"html_error_rate": 0.3}, clean, "30 % of Keka answers: 502 with an HTML page"),
        ("tokens-revoked", 1, clean, clean, "every Keka access token revoked every 5 s (401 → refresh)"),
        ("token-endpoint-down", 1, {"token_endpoint_down": True}, clean,
         "token endpoint answers 503, tokens revoked at the start (and every 5 s)"),
        ("keeper-faults", 1, clean, {"error_rate": 0.2, "html_error_rate": 0.1, "malformed_json_rate": 0.1},
         "Keeper SCIM: 20 % 500, 10 % HTML 502, 10 % truncated JSON"),
        ("recovery", 1.25, clean, clean, "no faults"),
    ]
    total = sum(w for _, w, *_ in spec)
    phases, start = [], 0.0
    for name, weight, keka, keeper, what in spec:
        length = duration * weight / total
        phases.append({"name": name, "start": round(start, 3), "end": round(start + length, 3),
                       "keka_faults": keka, "keeper_faults": keeper, "what": what,
                       "revoke_every": 5.0 if name in ("tokens-revoked", "token-endpoint-down") else None})
        start += length
    phases[-1]["end"] = float(duration)
    return phases


FAULT_KEYS = {"error_rate": 0.0, "latency_ms": 0, "malformed_json_rate": 0.0, "html_error_rate": 0.0,
              "token_endpoint_down": False}


def full_faults(partial):
    faults = dict(FAULT_KEYS)
    faults.update(partial)
    return faults


# ------------------------------------------------------------------------------------------------------------
# run
# ------------------------------------------------------------------------------------------------------------


def log(message):
    print(f"[soak {time.strftime('%H:%M:%S', time.gmtime())}] {message}", file=sys.stderr, flush=True)


class Soak:
    def __init__(self, config):
        self.c = config
        self.sg = config["subgraph_url"]
        self.sb = config["sandbox_origin"]
        self.pid = config["subgraph_pid"]
        self.queries, self.operations = {}, {}
        qdir = config["queries_dir"]
        for kind, file in (("q1", "q1_employees_managers_groups.graphql"), ("q2", "q2_direct_reports.graphql"),
                           ("q3", "q3_entities.graphql"), ("q4", "q4_org_chart_page.graphql"),
                           ("q5", "q5_who_is_out.graphql")):
            with open(os.path.join(qdir, file), encoding="utf-8") as handle:
                self.queries[kind] = handle.read()
            # Sent as `operationName` too, so the subgraph's log lines and `/metrics` name the operation.
            match = re.search(r"^\s*query\s+([A-Za-z_][A-Za-z0-9_]*)", self.queries[kind], re.MULTILINE)
            self.operations[kind] = match.group(1) if match else None
        self.week = {"from": config["week_from"], "to": config["week_to"]}
        self.rng = random.Random(config.get("seed", 42))
        self.lock = threading.Lock()
        self.records = []
        self.mismatches = []
        self.secret_hits = []
        self.secrets = [s for s in config.get("secrets", []) if s]
        self.sent = 0
        self.stop_at = None
        self.phase_idx = 0
        self.t0 = None
        self.next_slot = 0.0

    # ---- warm-up: ids, cursors and the clean answers everything is compared with ----

    def must(self, query, variables=None, operation=None, what="", attempts=4, allowed=(), errors_out=None):
        last = None
        for attempt in range(attempts):
            status, body, _ = gql_once(self.sg, query, variables, operation, timeout=60,
                                       request_id=f"soak-warmup-{what}-{attempt}")
            errors = (body.get("errors") or []) if isinstance(body, dict) else []
            if status == 200 and body.get("data") and all(
                    ((e or {}).get("extensions") or {}).get("code") in allowed for e in errors):
                if errors_out is not None:
                    errors_out.extend(errors)
                return body["data"]
            last = (status, json.dumps(body)[:400] if body is not None else None)
            time.sleep(2 + attempt * 3)
        raise SystemExit(f"warm-up query {what} kept failing: {last}")

    def warm_up(self):
        log("warm-up: walking the org chart and the Keeper node through the subgraph, recording clean answers")
        self.ids, self.emails, self.emp_cursors = [], [], []
        cursor = None
        while True:
            page = self.must(WARMUP_EMPLOYEES, {"cursor": cursor}, "SoakWarmupEmployees",
                             f"employees-{len(self.emp_cursors)}")["employees"]
            self.total_employees = page["totalCount"]
            for node in page["nodes"]:
                self.ids.append(node["id"])
                self.emails.append(node["email"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            cursor = page["pageInfo"]["endCursor"]
            self.emp_cursors.append(cursor)
            if len(self.emp_cursors) > 500:
                raise SystemExit("warm-up: the employee walk does not end")
        if len(self.ids) != self.total_employees or len(set(self.ids)) != len(self.ids):
            raise SystemExit(f"warm-up: walk gave {len(self.ids)} ids ({len(set(self.ids))} distinct), "
                             f"totalCount {self.total_employees}")
        self.email_to_id = {e.lower(): i for i, e in zip(self.ids, self.emails) if e}
        self.dir_pages, self.dir_cursors, ambiguous, full_nodes = [], [], set(), []
        cursor = None
        while True:
            errors = []
            page = self.must(DIRECTORY_WARMUP, {"cursor": cursor}, "SoakWarmupDirectory",
                             f"directory-{len(self.dir_cursors)}", allowed=("AMBIGUOUS_DIRECTORY_MATCH",),
                             errors_out=errors)["directoryAccounts"]
            for error in errors:
                path = error.get("path") or []
                if len(path) >= 3 and path[1] == "nodes":
                    ambiguous.add(page["nodes"][path[2]]["id"])
            full_nodes.extend(page["nodes"])
            self.dir_pages.append({"totalCount": page["totalCount"], "pageInfo": page["pageInfo"],
                                   "nodes": [{k: v for k, v in n.items() if k != "employee"} for n in page["nodes"]]})
            if not page["pageInfo"]["hasNextPage"]:
                break
            cursor = page["pageInfo"]["endCursor"]
            self.dir_cursors.append(cursor)
            if len(self.dir_cursors) > 500:
                raise SystemExit("warm-up: the directory walk does not end")
        self.account_ids = [n["id"] for n in full_nodes if n["id"] not in ambiguous]
        self.ambiguous_accounts = len(ambiguous)
        self.account_employee = {n["id"]: (n.get("employee") or {}).get("id") for n in full_nodes}
        self.q3_fixed = {"representations": [{"__typename": "Employee", "id": i} for i in self.ids[200:250]]}
        self.q3_windows = sorted({200, *(min(start, len(self.ids) - 50) for start in (0, 450, 850))})
        self.baseline = {
            "q1": self.must(self.queries["q1"], None, None, "q1"),
            "q2": self.must(self.queries["q2"], None, None, "q2"),
            "q3": self.must(self.queries["q3"], self.q3_fixed, None, "q3"),
            "q5": self.must(self.queries["q5"], self.week, None, "q5"),
            "access_review": self.must(ACCESS_REVIEW, None, "SoakAccessReview", "access_review"),
        }
        # The answers must not change when asked again (deterministic data): checked once here.
        again = self.must(self.queries["q1"], None, None, "q1-again")
        if again != self.baseline["q1"]:
            raise SystemExit("warm-up: Q1 answered differently twice in a row without faults")
        q5 = self.baseline["q5"]["timeoffRequests"]
        ar = self.baseline["access_review"]["accessReview"]
        log(f"warm-up done: {len(self.ids)} employees, {len(self.account_ids)} Keeper accounts, "
            f"Q5 totalCount {q5['totalCount']}, access review: {ar['relievedWithActiveAccount']['count']} relieved "
            f"with an active account")

    # ---- the request mix ----

    def build(self, kind):
        """(body bytes, expectation) for one request of `kind`; the expectation validates an error-free answer."""
        r = self.rng
        if kind in HOSTILE:
            body, status, code = HOSTILE[kind]
            return body.encode(), ("hostile", status, code)
        if kind in ("q1", "q2"):
            return json.dumps({"query": self.queries[kind], "operationName": self.operations[kind]}).encode(), \
                ("equal", self.baseline[kind])
        if kind == "q5":
            return json.dumps({"query": self.queries[kind], "operationName": self.operations[kind],
                               "variables": self.week}).encode(), ("equal", self.baseline["q5"])
        if kind == "access_review":
            return json.dumps({"query": ACCESS_REVIEW, "operationName": "SoakAccessReview"}).encode(), \
                ("equal", self.baseline["access_review"])
        if kind == "q3":
            # Four fixed windows of 50 (the canonical 200-249 among them): more would each cost Keka an id batch per
            # cache TTL, and the mix already needs most of Keka's 50 requests a minute.
            start = r.choice(self.q3_windows)
            ids = self.ids[start:start + 50]
            variables = {"representations": [{"__typename": "Employee", "id": i} for i in ids]}
            emails = [self.emails[start + k] for k in range(len(ids))]
            return json.dumps({"query": self.queries["q3"], "operationName": self.operations["q3"],
                               "variables": variables}).encode(), ("q3", emails)
        if kind == "q4":
            page = r.randrange(0, len(self.emp_cursors) + 1)
            cursor = None if page == 0 else self.emp_cursors[page - 1]
            return json.dumps({"query": self.queries["q4"], "operationName": self.operations["q4"],
                               "variables": {"cursor": cursor}}).encode(), \
                ("q4", self.ids[page * 100:(page + 1) * 100])
        if kind == "directory_accounts":
            page = r.randrange(0, len(self.dir_pages))
            cursor = None if page == 0 else self.dir_cursors[page - 1]
            return json.dumps({"query": DIRECTORY_PAGE, "operationName": "SoakDirectoryAccounts",
                               "variables": {"cursor": cursor}}).encode(), ("directory", self.dir_pages[page])
        if kind == "entities_mixed":
            reps, expect = [], []
            for k in r.sample(range(len(self.ids)), 5):
                reps.append({"__typename": "Employee", "email": self.emails[k].upper() if r.random() < 0.3
                             else self.emails[k]})
                expect.append(("Employee", self.ids[k]))
            for account in r.sample(self.account_ids, 5):
                reps.append({"__typename": "DirectoryAccount", "id": account})
                expect.append(("DirectoryAccount", account))
            order = list(range(len(reps)))
            r.shuffle(order)
            reps = [reps[i] for i in order]
            expect = [expect[i] for i in order]
            return json.dumps({"query": ENTITIES_MIXED, "operationName": "SoakEntitiesMixed",
                               "variables": {"representations": reps}}).encode(), ("entities", expect)
        raise ValueError(kind)

    def wrong(self, expectation, data):
        """None when an error-free answer is right, else a short reason."""
        how = expectation[0]
        if how == "equal":
            return None if data == expectation[1] else "differs from the clean answer recorded at warm-up"
        if how == "q3":
            entities = data.get("_entities") or []
            if len(entities) != len(expectation[1]):
                return f"{len(entities)} entities for {len(expectation[1])} representations"
            for entity, email in zip(entities, expectation[1]):
                if entity is None or (entity.get("email") or "").lower() != (email or "").lower():
                    return "an entity is null or has another email than at warm-up"
            return None
        if how == "q4":
            nodes = (data.get("employees") or {}).get("nodes") or []
            return None if [n["id"] for n in nodes] == expectation[1] else "page ids differ from the warm-up walk"
        if how == "directory":
            return None if data.get("directoryAccounts") == expectation[1] else "page differs from the warm-up walk"
        if how == "entities":
            entities = data.get("_entities") or []
            if len(entities) != len(expectation[1]):
                return "entity count differs from the representations"
            for entity, (typename, ident) in zip(entities, expectation[1]):
                if entity is None or entity.get("id") != ident:
                    return f"{typename} {ident}: null or another id"
                if typename == "DirectoryAccount":
                    got = (entity.get("employee") or {}).get("id")
                    if got != self.account_employee.get(ident):
                        return f"DirectoryAccount {ident}: employee {got} instead of {self.account_employee.get(ident)}"
            return None
        return None

    # ---- workers ----

    def take_slot(self):
        """Paces the workers to `rate` requests a second in total (no catch-up bursts); None when the run is over."""
        with self.lock:
            if self.sent >= self.c["max_requests"] or now() >= self.stop_at:
                return None
            slot = max(now(), self.next_slot)
            self.next_slot = slot + 1.0 / self.c["rate"]
            self.sent += 1
            number = self.sent
        delay = slot - now()
        if delay > 0:
            time.sleep(delay)
        if now() >= self.stop_at:
            return None
        return number

    def worker(self, index):
        kinds = [k for k, _ in MIX]
        weights = [w for _, w in MIX]
        client = Http(self.sg, self.c["client_timeout"])
        local_rng = random.Random(self.c.get("seed", 42) * 1000 + index)
        while True:
            number = self.take_slot()
            if number is None:
                break
            kind = local_rng.choices(kinds, weights)[0]
            with self.lock:
                body, expectation = self.build(kind)
            request_id = f"soak-{number}-{kind}"
            headers = {"content-type": "application/json", "x-request-id": request_id}
            started = now()
            phase = self.phase_idx
            status, data, transport = 0, b"", None
            try:
                status, data, _ = client.request("POST", "/graphql", body, headers)
            except TimeoutError:
                transport = "client_timeout"
            except OSError as error:
                transport = type(error).__name__
            except http.client.HTTPException as error:
                transport = type(error).__name__
            latency = now() - started
            self.record(number, kind, phase, started, latency, status, data, transport, expectation, request_id)
        client.close()

    def record(self, number, kind, phase, started, latency, status, data, transport, expectation, request_id):
        codes, shape, wrong = [], "none", None
        for secret in self.secrets:
            if data and secret.encode() in data:
                with self.lock:
                    self.secret_hits.append(request_id)
        parsed = None
        if data:
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = None
        if isinstance(parsed, dict):
            errors = parsed.get("errors") or []
            for error in errors:
                code = ((error or {}).get("extensions") or {}).get("code") or "(no code)"
                codes.append(code)
            payload = parsed.get("data")
            has_data = isinstance(payload, dict) and any(v is not None for v in payload.values())
            if not errors:
                shape = "ok" if has_data or payload is not None else "empty"
            else:
                shape = "partial" if has_data else "failed"
            if shape == "ok" and expectation[0] != "hostile":
                wrong = self.wrong(expectation, payload)
        elif status:
            shape = "not_json"
        if expectation[0] == "hostile":
            _, want_status, want_code = expectation
            if status != want_status or (want_code is not None and (not codes or codes[0] != want_code)):
                wrong = f"expected HTTP {want_status}{' ' + want_code if want_code else ''}, got HTTP {status} {codes[:1]}"
        rec = [number, kind, phase, round(started - self.t0, 3), round(latency, 4), status, transport, codes, shape,
               wrong]
        with self.lock:
            self.records.append(rec)
            if wrong and len(self.mismatches) < 50:
                message = None
                if isinstance(parsed, dict) and parsed.get("errors"):
                    message = str(parsed["errors"][0].get("message"))[:200]
                self.mismatches.append({"request_id": request_id, "kind": kind,
                                        "phase": self.phases[phase]["name"], "why": wrong, "message": message})
            if codes:
                for error in (parsed.get("errors") or [])[:3]:
                    code = ((error or {}).get("extensions") or {}).get("code") or "(no code)"
                    self.code_examples.setdefault(code, str(error.get("message"))[:240])

    # ---- the conductor and the sampler ----

    def snapshot_counters(self, label):
        _, keka = admin(self.sb, "GET", "/__sandbox/stats")
        _, keeper = admin(self.sb, "GET", "/__sandbox/keeper/stats")
        _, metrics = admin(self.sg, "GET", "/metrics")
        return {"label": label, "t": round(now() - self.t0, 3) if self.t0 else 0.0,
                "keka": keka if isinstance(keka, dict) else None,
                "keeper": keeper if isinstance(keeper, dict) else None,
                "metrics": metrics_digest(metrics)}

    def set_faults(self, phase):
        status_keka, _ = admin(self.sb, "PUT", "/__sandbox/faults", full_faults(phase["keka_faults"]))
        keeper = full_faults(phase["keeper_faults"])
        keeper["token_endpoint_down"] = False
        status_keeper, _ = admin(self.sb, "PUT", "/__sandbox/keeper/faults", keeper)
        if status_keka != 200 or status_keeper != 200:
            log(f"WARNING: setting the faults of phase {phase['name']} answered {status_keka}/{status_keeper}")

    def revoke(self):
        status, _ = admin(self.sb, "POST", "/__sandbox/revoke-tokens")
        with self.lock:
            self.revocations += 1 if status in (200, 204) else 0

    def proc_status(self):
        values = {}
        try:
            with open(f"/proc/{self.pid}/status", encoding="utf-8") as handle:
                for line in handle:
                    key, _, rest = line.partition(":")
                    if key in ("VmRSS", "VmHWM", "Threads"):
                        values[key] = int(rest.split()[0])
            values["fds"] = len(os.listdir(f"/proc/{self.pid}/fd"))
        except (OSError, ValueError):
            return None
        return values

    def sampler(self):
        interval = self.c["rss_interval"]
        while not self.sampler_stop.is_set():
            t = now() - self.t0
            status = self.proc_status()
            h_status, _ = admin(self.sg, "GET", "/healthz", timeout=5)
            h_latency = now() - self.t0 - t
            _, metrics = admin(self.sg, "GET", "/metrics", timeout=5)
            digest = metrics_digest(metrics)
            sample = {"t": round(t, 2), "phase": self.phase_idx, "alive": status is not None,
                      "rss_kb": (status or {}).get("VmRSS"), "hwm_kb": (status or {}).get("VmHWM"),
                      "threads": (status or {}).get("Threads"), "fds": (status or {}).get("fds"),
                      "healthz": h_status, "healthz_secs": round(h_latency, 3),
                      "in_flight": digest["in_flight"] if digest["ok"] else None,
                      "snapshot_age": digest["snapshot_age"]}
            with self.lock:
                self.samples.append(sample)
                if status is None and self.died_at is None:
                    self.died_at = round(t, 2)
            self.sampler_stop.wait(interval)

    def run(self):
        c = self.c
        self.code_examples = {}
        self.revocations = 0
        self.samples = []
        self.died_at = None
        self.phases = phases_for(c["duration"], c["latency_ms"])
        # Start clean, whatever an earlier run left.
        self.set_faults(self.phases[0])
        started_warmup = now()
        self.warm_up()
        warmup_secs = now() - started_warmup
        self.t0 = now()
        self.stop_at = self.t0 + c["duration"]
        self.next_slot = self.t0
        counters = [self.snapshot_counters("start")]
        self.sampler_stop = threading.Event()
        sampler = threading.Thread(target=self.sampler, daemon=True)
        sampler.start()
        workers = [threading.Thread(target=self.worker, args=(i,), daemon=True) for i in range(c["concurrency"])]
        for thread in workers:
            thread.start()
        log(f"soak: {c['duration']} s, {c['concurrency']} workers, {c['rate']} req/s, at most {c['max_requests']} "
            f"requests, client timeout {c['client_timeout']} s")
        for index, phase in enumerate(self.phases):
            with self.lock:
                self.phase_idx = index
            self.set_faults(phase)
            done_so_far = len(self.records)
            log(f"phase {index + 1}/{len(self.phases)} {phase['name']} ({phase['end'] - phase['start']:.0f} s): "
                f"{phase['what']} [{done_so_far} answers so far]")
            end = self.t0 + phase["end"]
            if phase["revoke_every"]:
                while now() < end:
                    self.revoke()
                    time.sleep(max(0.0, min(phase["revoke_every"], end - now())))
            else:
                time.sleep(max(0.0, end - now()))
            if phase["keka_faults"].get("token_endpoint_down"):
                # Leave the token endpoint up before the counters are read, so the next phase starts clean.
                self.set_faults({"keka_faults": {}, "keeper_faults": {}, "name": "between"})
            counters.append(self.snapshot_counters(phase["name"]))
        self.set_faults({"keka_faults": {}, "keeper_faults": {}, "name": "end"})
        log(f"duration over: {len(self.records)} answers; waiting for the requests in flight "
            f"(at most {c['client_timeout']} s)")
        drain_started = now()
        for thread in workers:
            thread.join(timeout=max(0.1, c["client_timeout"] + 15 - (now() - drain_started)))
        stuck_workers = sum(1 for thread in workers if thread.is_alive())
        drain_secs = now() - drain_started
        counters.append(self.snapshot_counters("drained"))
        self.sampler_stop.set()
        sampler.join(timeout=15)
        final = self.final_checks()
        counters.append(self.snapshot_counters("final"))
        _, metrics_text = admin(self.sg, "GET", "/metrics")
        with self.lock:
            records = list(self.records)
        return {
            "config": c, "phases": self.phases, "records": records, "counters": counters, "samples": self.samples,
            "final": final, "mismatches": self.mismatches, "secret_hits_in_responses": self.secret_hits,
            "code_examples": self.code_examples, "revocations": self.revocations, "died_at": self.died_at,
            "warmup_secs": round(warmup_secs, 2), "drain_secs": round(drain_secs, 2),
            "stuck_workers": stuck_workers, "soak_secs": round(now() - self.t0, 2),
            "employees": len(self.ids), "accounts": len(self.account_employee),
            "ambiguous_accounts": self.ambiguous_accounts,
            "metrics_text": metrics_text if isinstance(metrics_text, str) else None,
        }

    # ---- after the recovery phase ----

    def final_checks(self):
        log("final checks: /healthz, /readyz, clean queries compared with the warm-up answers")
        result = {}
        result["healthz"] = admin(self.sg, "GET", "/healthz", timeout=10)[0]
        result["readyz"] = admin(self.sg, "GET", "/readyz", timeout=30)[0]
        checks = []

        def check(name, query, variables, expect, operation=None):
            status, body, secs = gql_once(self.sg, query, variables, operation, timeout=self.c["client_timeout"],
                                          request_id=f"soak-final-{name}")
            errors = (body or {}).get("errors") if isinstance(body, dict) else None
            data = (body or {}).get("data") if isinstance(body, dict) else None
            if status != 200:
                verdict = f"HTTP {status} {json.dumps(body)[:200] if body else ''}"
            elif errors:
                verdict = "errors: " + ", ".join(sorted({((e or {}).get('extensions') or {}).get('code', '?')
                                                         for e in errors}))
            else:
                verdict = expect(data)
            checks.append({"name": name, "ok": verdict is None, "why": verdict, "secs": round(secs, 3)})

        eq = lambda base: (lambda data: None if data == base else "differs from the warm-up answer")  # noqa: E731
        check("Q1", self.queries["q1"], None, eq(self.baseline["q1"]))
        check("Q2", self.queries["q2"], None, eq(self.baseline["q2"]))
        check("Q3", self.queries["q3"], self.q3_fixed, eq(self.baseline["q3"]))
        check("Q5", self.queries["q5"], self.week, eq(self.baseline["q5"]))
        check("accessReview", ACCESS_REVIEW, None, eq(self.baseline["access_review"]), "SoakAccessReview")
        check("directoryAccounts page 1", DIRECTORY_PAGE, {"cursor": None}, eq({"directoryAccounts": self.dir_pages[0]}),
              "SoakDirectoryAccounts")

        # The whole org chart with Q4, page by page: every employee once, in the warm-up's order.
        walked, cursor, why, started = [], None, None, now()
        for _ in range(len(self.emp_cursors) + 2):
            status, body, _ = gql_once(self.sg, self.queries["q4"], {"cursor": cursor}, None,
                                       timeout=self.c["client_timeout"], request_id="soak-final-q4")
            if status != 200 or not isinstance(body, dict) or body.get("errors"):
                why = f"HTTP {status}, errors {json.dumps((body or {}).get('errors'))[:200]}"
                break
            page = body["data"]["employees"]
            walked.extend(n["id"] for n in page["nodes"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            cursor = page["pageInfo"]["endCursor"]
        if why is None and walked != self.ids:
            why = f"walk gave {len(walked)} ids, {len(set(walked))} distinct; not the warm-up's {len(self.ids)}"
        checks.append({"name": "Q4 walk (whole org chart)", "ok": why is None, "why": why,
                       "secs": round(now() - started, 3)})
        result["checks"] = checks
        result["healthz_after"] = admin(self.sg, "GET", "/healthz", timeout=10)[0]
        return result


# ------------------------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------------------------


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(p / 100.0 * len(values) + 0.5)) - 1))
    return values[k]


def ms(seconds):
    if seconds is None:
        return "–"
    if seconds >= 10:
        return f"{seconds:.1f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.1f} ms"


def mb(kb):
    return "–" if kb is None else f"{kb / 1024:.1f} MB"


def spark(values):
    blocks = "▁▂▃▄▅▆▇█"
    values = [v for v in values if v is not None]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi == lo:
        return blocks[0] * len(values)
    return "".join(blocks[min(7, int((v - lo) / (hi - lo) * 7.999))] for v in values)


def fmt(n):
    return f"{int(n):,}"


def counter_delta(a, b, path):
    def get(snapshot):
        value = snapshot
        for key in path:
            value = (value or {}).get(key) if isinstance(value, dict) else None
        return value or 0
    return get(b) - get(a)


def route_sum(stats, predicate):
    if not isinstance(stats, dict):
        return 0
    return sum(r["count"] for r in stats.get("by_route", []) if predicate(r))


def report(results, extra):
    c = results["config"]
    phases = results["phases"]
    records = results["records"]
    counters = {x["label"]: x for x in results["counters"]}
    samples = results["samples"]
    final = results["final"]
    out = []
    w = out.append

    # records: [number, kind, phase, t, latency, status, transport, codes, shape, wrong]
    total = len(records)
    deadline = c["deadline"]
    status_counts, code_errors, code_responses, shapes = {}, {}, {}, {}
    over_deadline, client_timeouts, over_30, cut_off = [], 0, 0, []
    for rec in records:
        _, kind, phase, t, latency, status, transport, codes, shape, wrong = rec
        key = str(status) if status else f"no answer ({transport})"
        status_counts[key] = status_counts.get(key, 0) + 1
        for code in codes:
            code_errors[code] = code_errors.get(code, 0) + 1
        for code in set(codes):
            code_responses[code] = code_responses.get(code, 0) + 1
        shapes[shape] = shapes.get(shape, 0) + 1
        if transport == "client_timeout":
            client_timeouts += 1
        if latency > deadline or transport == "client_timeout":
            over_deadline.append(rec)
        if latency > 30:
            over_30 += 1
        # The subgraph's net at deadline + 2 s: upstream calls should have ended by the deadline itself.
        if status == 504 or "REQUEST_TIMEOUT" in codes:
            cut_off.append(rec)
    latencies = [r[4] for r in records if r[5]]
    legit = [r for r in records if not r[1].startswith("h_")]
    hostile = [r for r in records if r[1].startswith("h_")]
    wrong_legit = [r for r in legit if r[9]]
    wrong_hostile = [r for r in hostile if r[9]]

    start_c, end_c = counters.get("start"), counters.get("final") or counters.get("drained")
    keka_api = counter_delta(start_c, end_c, ["keka", "total"]) - counter_delta(start_c, end_c, ["keka", "token_requests"])
    keka_total_all = (end_c or {}).get("keka", {}) or {}
    keka_429_soak = counter_delta(start_c, end_c, ["keka", "rate_limited"])
    keka_429_all = keka_total_all.get("rate_limited", 0)
    keeper_api = counter_delta(start_c, end_c, ["keeper", "total"])
    keeper_429 = ((end_c or {}).get("keeper") or {}).get("rate_limited", 0)
    token_requests = counter_delta(start_c, end_c, ["keka", "token_requests"])
    m0, m1 = (start_c or {}).get("metrics", {}), (end_c or {}).get("metrics", {})

    alive_samples = [s for s in samples if s["alive"] and s["rss_kb"]]
    rss_start = alive_samples[0]["rss_kb"] if alive_samples else None
    rss_end = extra.get("rss_end_kb") or (alive_samples[-1]["rss_kb"] if alive_samples else None)
    rss_peak = max((s["rss_kb"] for s in alive_samples), default=None)
    hwm = extra.get("hwm_end_kb") or max((s["hwm_kb"] or 0 for s in alive_samples), default=None)
    health_failures = [s for s in samples if s["alive"] and s["healthz"] != 200]

    # ---- verdict ----
    reasons = []
    if not extra.get("alive_before_stop", False) or results.get("died_at") is not None:
        reasons.append("the subgraph process died" + (f" (gone at t={results['died_at']} s)" if results.get("died_at") else ""))
    if extra.get("panics", 0):
        reasons.append(f"{extra['panics']} panic line(s) in the subgraph's log")
    if over_deadline:
        reasons.append(f"{len(over_deadline)} request(s) exceeded the {deadline:.0f} s deadline")
    if cut_off:
        reasons.append(f"{len(cut_off)} request(s) cut off by the subgraph's net (504 REQUEST_TIMEOUT) instead of "
                       "ending at their deadline: " + ", ".join(f"#{r[0]} {r[1]} in {r[2]}" for r in cut_off[:5]))
    if results.get("stuck_workers"):
        reasons.append(f"{results['stuck_workers']} load worker(s) still blocked after the drain")
    if keka_429_all:
        reasons.append(f"Keka answered 429 {keka_429_all} time(s)")
    failed_checks = [x for x in final.get("checks", []) if not x["ok"]]
    if final.get("healthz") != 200 or final.get("readyz") != 200:
        reasons.append(f"after recovery /healthz {final.get('healthz')}, /readyz {final.get('readyz')}")
    if failed_checks:
        reasons.append("clean queries after recovery failed: " + "; ".join(f"{x['name']} ({x['why']})" for x in failed_checks))
    if extra.get("secrets_in_log"):
        reasons.append("secret value(s) in the subgraph's log: " + ", ".join(extra["secrets_in_log"]))
    if results.get("secret_hits_in_responses"):
        reasons.append(f"secret value(s) in {len(results['secret_hits_in_responses'])} response(s)")
    if wrong_legit:
        reasons.append(f"{len(wrong_legit)} error-free answer(s) differed from the clean answers")
    if wrong_hostile:
        reasons.append(f"{len(wrong_hostile)} hostile request(s) not refused with the expected status and code")
    verdict = "PASS" if not reasons else "FAIL"

    # ---- the document ----
    w(f"# keka-subgraph soak, {extra['stamp']}")
    w("")
    w(f"**{verdict}**" + (": " + "; ".join(reasons) if reasons else ": the subgraph stayed up, no panic, no request "
      f"past the deadline, no Keka 429, no secret in the log, every error-free answer right, and clean queries answered "
      f"correctly after recovery."))
    w("")
    w(f"Machine: {extra['machine']} · commit `{extra['commit']}` · reproduce: `{extra['repro']}`")
    w("")
    w("## Set-up")
    w("")
    w(f"- Sandbox: {fmt(results['employees'])} employees (seed {c['seed']}), Keka's limit of {c['sandbox_rate_limit']} requests/minute enforced, "
      f"its Keeper SCIM node ({fmt(results['accounts'])} accounts; {results.get('ambiguous_accounts', 0)} with an "
      f"address held twice, left out of the entity requests: their `employee` is an `AMBIGUOUS_DIRECTORY_MATCH` error by design).")
    w(f"- Subgraph: `CACHE_TTL_SECS={c['cache_ttl']}`, `STALE_IF_ERROR_SECS` default, `KEKA_RATE_LIMIT_PER_MINUTE={c['keka_rate_limit']}`, "
      f"`KEKA_REQUEST_TIMEOUT_SECS={c['keka_timeout']}`, `KEKA_MAX_RETRIES={c['keka_retries']}`, "
      f"`KEKA_MAX_RATE_LIMIT_WAIT_SECS={c['keka_max_wait']}`, `RUST_LOG={extra['rust_log']}`.")
    w(f"- Load: {c['concurrency']} workers paced to {c['rate']} requests/s in total, for {c['duration']} s, at most "
      f"{fmt(c['max_requests'])} requests; client timeout {c['client_timeout']:.0f} s. Mix (weights): "
      + ", ".join(f"{k} {v}" for k, v in MIX) + ".")
    w(f"- Warm-up before the clock (clean): {results['warmup_secs']} s; drain after it: {results['drain_secs']} s.")
    w("")
    w("## Summary")
    w("")
    w("| | |")
    w("|---|---|")
    w(f"| duration (soak clock, incl. drain) | {results['soak_secs']:.0f} s (load for {c['duration']} s) |")
    w(f"| requests sent | {fmt(total)} ({fmt(len(legit))} queries, {fmt(len(hostile))} hostile/broken); "
      f"cap {fmt(c['max_requests'])}{' — **cap reached**' if total >= c['max_requests'] else ''} |")
    w(f"| answers by HTTP status | " + ", ".join(f"{k}: {fmt(v)}" for k, v in sorted(status_counts.items())) + " |")
    w(f"| GraphQL answers | ok {fmt(shapes.get('ok', 0))}, partial data with errors {fmt(shapes.get('partial', 0))}, "
      f"no data {fmt(shapes.get('failed', 0))}, not GraphQL JSON {fmt(shapes.get('not_json', 0) + shapes.get('none', 0))} |")
    lq = {k: sum(1 for r in legit if r[8] == k) for k in ("ok", "partial", "failed")}
    w(f"| of which the {fmt(len(legit))} queries | ok {fmt(lq['ok'])}, partial {fmt(lq['partial'])}, no data {fmt(lq['failed'])}, "
      f"other {fmt(len(legit) - sum(lq.values()))} |")
    w(f"| latency (all answers) | p50 {ms(pct(latencies, 50))}, p99 {ms(pct(latencies, 99))}, max {ms(max(latencies) if latencies else None)} |")
    w(f"| over the deadline ({deadline:.0f} s) | {len(over_deadline)} (client timeouts {client_timeouts}); over 30 s (Apollo Router's default timeout): {over_30} |")
    w(f"| Keka 429s (sandbox counter, whole run) | {keka_429_all} |")
    w(f"| Keka API requests during the soak | {fmt(keka_api)} (+ {fmt(token_requests)} token requests); warm-up and checks included in the sandbox's total {fmt(keka_total_all.get('total', 0))} |")
    w(f"| Keeper SCIM requests during the soak | {fmt(keeper_api)} (429s: {keeper_429}) |")
    w(f"| retries (`/metrics`) | Keka {fmt(m1.get('keka_retries', 0) - m0.get('keka_retries', 0))}, Keeper {fmt(m1.get('keeper_retries', 0) - m0.get('keeper_retries', 0))} |")
    w(f"| token refreshes (`/metrics`) | Keka {fmt(m1.get('keka_token_refreshes', 0) - m0.get('keka_token_refreshes', 0))} ({results['revocations']} revocations) |")
    w(f"| 429s seen by the client (`/metrics`) | Keka {fmt(m1.get('keka_throttled', 0))}, Keeper {fmt(m1.get('keeper_throttled', 0))} |")
    w(f"| RSS | start {mb(rss_start)}, peak {mb(rss_peak)}, end {mb(rss_end)}; VmHWM {mb(hwm)} |")
    w(f"| /healthz during the soak | {len(samples) - len(health_failures)}/{len(samples)} samples 200 |")
    w(f"| after recovery | /healthz {final.get('healthz')}, /readyz {final.get('readyz')}, clean queries "
      f"{sum(1 for x in final.get('checks', []) if x['ok'])}/{len(final.get('checks', []))} right |")
    w(f"| log | {fmt(extra.get('log_lines', 0))} lines, {extra.get('panics', 0)} panics, {extra.get('log_errors', 0)} ERROR, "
      f"{extra.get('log_warns', 0)} WARN; secrets found: {len(extra.get('secrets_in_log', []))} |")
    w(f"| graceful stop (SIGTERM) | {extra.get('stop')} |")
    w("")
    w(f"Deadline: the subgraph's `REQUEST_DEADLINE_SECS` (its Keka and Keeper calls end by then) + its 2 s cut-off "
      f"margin + 3 s for the answer and scheduling = **{deadline:.0f} s**. A request counts as over it when its answer "
      f"took longer, or when none came within the client timeout ({c['client_timeout']:.0f} s).")
    w("")

    # per phase
    w("## Phases")
    w("")
    w("| phase | from–to (s) | faults | requests | ok / partial / no data | non-200 | p50 | p99 | max | Keka API | Keka 5xx/502 | Keka 401 | 429 | token req. | retries | token refreshes | Keeper | RSS at end |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    labels = ["start"] + [p["name"] for p in phases]
    for index, phase in enumerate(phases):
        recs = [r for r in records if r[2] == index]
        lat = [r[4] for r in recs if r[5]]
        ok = sum(1 for r in recs if r[8] == "ok")
        part = sum(1 for r in recs if r[8] == "partial")
        fail = sum(1 for r in recs if r[8] == "failed")
        non200 = sum(1 for r in recs if r[5] != 200)
        a, b = counters.get(labels[index]), counters.get(labels[index + 1])
        if a and b and a.get("keka") and b.get("keka"):
            ka, kb = a["keka"], b["keka"]
            api = (kb["total"] - kb["token_requests"]) - (ka["total"] - ka["token_requests"])
            is_api = lambda r: r["route"].startswith("/api/v1")  # noqa: E731
            k5 = route_sum(kb, lambda r: is_api(r) and r["status"] >= 500) - route_sum(ka, lambda r: is_api(r) and r["status"] >= 500)
            k401 = route_sum(kb, lambda r: is_api(r) and r["status"] == 401) - route_sum(ka, lambda r: is_api(r) and r["status"] == 401)
            r429 = kb["rate_limited"] - ka["rate_limited"]
            tok = kb["token_requests"] - ka["token_requests"]
            keeper = (b.get("keeper") or {}).get("total", 0) - (a.get("keeper") or {}).get("total", 0)
            ma, mb_ = a["metrics"], b["metrics"]
            retries = mb_.get("keka_retries", 0) - ma.get("keka_retries", 0) + mb_.get("keeper_retries", 0) - ma.get("keeper_retries", 0)
            refreshes = mb_.get("keka_token_refreshes", 0) - ma.get("keka_token_refreshes", 0)
        else:
            api = k5 = k401 = r429 = tok = keeper = retries = refreshes = "?"
        in_phase = [s for s in samples if s["phase"] == index and s["rss_kb"]]
        rss_at_end = in_phase[-1]["rss_kb"] if in_phase else None
        faults = ", ".join(f"{k}={v}" for k, v in phase["keka_faults"].items()) or ""
        if phase["keeper_faults"]:
            faults += ("; " if faults else "") + "Keeper " + ", ".join(f"{k}={v}" for k, v in phase["keeper_faults"].items())
        if phase["revoke_every"]:
            faults += ("; " if faults else "") + f"revoke every {phase['revoke_every']:.0f} s"
        w(f"| {phase['name']} | {phase['start']:.0f}–{phase['end']:.0f} | {faults or 'none'} | {len(recs)} | {ok} / {part} / {fail} | {non200} | "
          f"{ms(pct(lat, 50))} | {ms(pct(lat, 99))} | {ms(max(lat) if lat else None)} | {api} | {k5} | {k401} | {r429} | {tok} | "
          f"{fmt(retries) if retries != '?' else '?'} | {fmt(refreshes) if refreshes != '?' else '?'} | {keeper} | {mb(rss_at_end)} |")
    w("")
    w("Requests are attributed to the phase in which they were sent (a request sent late in a phase may be answered in the next). "
      "Keka columns are the sandbox's counters between phase boundaries (API = `/api/v1` requests, any status; token requests apart); "
      "retries and token refreshes are the subgraph's `/metrics` counters over the same intervals.")
    w("")

    # per kind
    w("## By request kind")
    w("")
    w("| kind | expected | requests | HTTP statuses | error codes (errors) | ok / partial / no data | wrong | p50 | p99 | max |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for kind, _ in MIX:
        recs = [r for r in records if r[1] == kind]
        if not recs:
            continue
        statuses, codes = {}, {}
        for r in recs:
            key = str(r[5]) if r[5] else (r[6] or "none")
            statuses[key] = statuses.get(key, 0) + 1
            for code in r[7]:
                codes[code] = codes.get(code, 0) + 1
        lat = [r[4] for r in recs if r[5]]
        expected = f"{HOSTILE[kind][1]} {HOSTILE[kind][2] or ''}".strip() if kind in HOSTILE else "data (errors only under faults)"
        w(f"| {kind} | {expected} | {len(recs)} | " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
          + " | " + (", ".join(f"{k}: {v}" for k, v in sorted(codes.items(), key=lambda x: -x[1])) or "–")
          + f" | {sum(1 for r in recs if r[8] == 'ok')} / {sum(1 for r in recs if r[8] == 'partial')} / {sum(1 for r in recs if r[8] == 'failed')}"
          + f" | {sum(1 for r in recs if r[9])} | {ms(pct(lat, 50))} | {ms(pct(lat, 99))} | {ms(max(lat) if lat else None)} |")
    w("")

    # codes
    w("## GraphQL errors by `extensions.code`")
    w("")
    w("| code | errors | responses | example message |")
    w("|---|---|---|---|")
    for code, n in sorted(code_errors.items(), key=lambda x: -x[1]):
        example = (results["code_examples"].get(code) or "").replace("|", "\\|").replace("\n", " ")
        w(f"| {code} | {fmt(n)} | {fmt(code_responses.get(code, 0))} | {example[:160]} |")
    w("")
    w(f"Responses with partial data (data and errors): {fmt(shapes.get('partial', 0))}; with errors and no data: {fmt(shapes.get('failed', 0))}.")
    w("")

    # memory
    w("## Memory (VmRSS of the subgraph)")
    w("")
    rss_series = [s["rss_kb"] for s in samples]
    w(f"Every {c['rss_interval']} s ({len(samples)} samples): `{spark(rss_series)}` ({mb(min((v for v in rss_series if v), default=None))} … {mb(max((v for v in rss_series if v), default=None))})")
    w("")
    w("| phase | samples | RSS min | RSS max | RSS at end | threads (max) | open fds (max) | in flight (max) | /healthz max |")
    w("|---|---|---|---|---|---|---|---|---|")
    for index, phase in enumerate(phases):
        ss = [s for s in samples if s["phase"] == index and s["rss_kb"]]
        if not ss:
            w(f"| {phase['name']} | 0 | | | | | | | |")
            continue
        w(f"| {phase['name']} | {len(ss)} | {mb(min(s['rss_kb'] for s in ss))} | {mb(max(s['rss_kb'] for s in ss))} | {mb(ss[-1]['rss_kb'])} | "
          f"{max(s['threads'] or 0 for s in ss)} | {max(s['fds'] or 0 for s in ss)} | "
          f"{max((s['in_flight'] or 0) for s in ss):.0f} | {ms(max(s['healthz_secs'] for s in ss))} |")
    w("")
    ages = {}
    for s in samples:
        for name, age in (s.get("snapshot_age") or {}).items():
            ages[name] = max(ages.get(name, -1), age)
    if ages:
        w("Oldest snapshot served during the soak (`snapshot_age_seconds`): " + ", ".join(f"{k} {v:.0f} s" for k, v in sorted(ages.items())) + ".")
        w("")

    # final checks
    w("## After the recovery phase")
    w("")
    w(f"/healthz {final.get('healthz')}, /readyz {final.get('readyz')} (and /healthz {final.get('healthz_after')} after the checks).")
    w("")
    w("| clean query | right | time | |")
    w("|---|---|---|---|")
    for x in final.get("checks", []):
        w(f"| {x['name']} | {'yes' if x['ok'] else '**no**'} | {ms(x['secs'])} | {x['why'] or 'same answer as at warm-up'} |")
    w("")

    # slow, wrong
    slow = sorted(records, key=lambda r: -r[4])[:8]
    w("## Slowest requests")
    w("")
    w("| request id (`x-request-id`) | phase | sent at (s) | took | HTTP | codes |")
    w("|---|---|---|---|---|---|")
    for r in slow:
        w(f"| soak-{r[0]}-{r[1]} | {phases[r[2]]['name']} | {r[3]:.1f} | {ms(r[4])} | {r[5] or r[6]} | {', '.join(sorted(set(r[7]))) or '–'} |")
    w("")
    if results["mismatches"]:
        w("## Wrong answers (first 50)")
        w("")
        w("| request id | phase | why | first error |")
        w("|---|---|---|---|")
        for x in results["mismatches"]:
            w(f"| {x['request_id']} | {x['phase']} | {x['why']} | {(x['message'] or '').replace('|', '/')} |")
        w("")
    if over_deadline:
        w("## Over the deadline")
        w("")
        for r in over_deadline[:20]:
            w(f"- soak-{r[0]}-{r[1]}: phase {phases[r[2]]['name']}, sent at {r[3]:.1f} s, {ms(r[4])}, {r[5] or r[6]}")
        w("")
    if extra.get("log_top"):
        w("## Most frequent WARN/ERROR lines of the subgraph")
        w("")
        w("Numbers replaced by N, request spans removed.")
        w("")
        w("| lines | message |")
        w("|---|---|")
        for line in extra["log_top"]:
            w(f"| {fmt(line['count'])} | {line['message'].replace('|', '/')[:220]} |")
        w("")
    w("## Verdict")
    w("")
    w(f"**{verdict}**" + (" — " + "; ".join(reasons) if reasons else ""))
    w("")
    w("PASS needs: the process alive to the end; no panic in its log; no request over the deadline, none cut off by the "
      "subgraph's net (504 REQUEST_TIMEOUT); no Keka 429 (sandbox "
      "counter); /healthz and /readyz 200 and the clean queries equal to their warm-up answers after recovery; none of the "
      "secrets (client secret, API key, Keeper token) in the log or in any response; every error-free answer equal to the "
      "clean one; every hostile request refused with its expected status and code.")
    w("")
    w(f"Raw data: `bench/results/soak-{extra['stamp']}/` (subgraph and sandbox logs, results.json with every request, "
      f"final metrics and sandbox counters).")
    return "\n".join(out) + "\n", verdict


# ------------------------------------------------------------------------------------------------------------


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("run", "report"):
        print(__doc__, file=sys.stderr)
        return 2
    if sys.argv[1] == "run":
        with open(sys.argv[2], encoding="utf-8") as handle:
            config = json.load(handle)
        config["secrets"] = [s for s in os.environ.get("SOAK_SECRETS", "").split("\n") if s]
        results = Soak(config).run()
        results["config"].pop("secrets", None)
        with open(sys.argv[3], "w", encoding="utf-8") as handle:
            json.dump(results, handle)
        return 0
    with open(sys.argv[2], encoding="utf-8") as handle:
        results = json.load(handle)
    with open(sys.argv[3], encoding="utf-8") as handle:
        extra = json.load(handle)
    text, verdict = report(results, extra)
    sys.stdout.write(text)
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())

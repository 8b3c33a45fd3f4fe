// Runs The Guild's GraphQL-over-HTTP audit (graphql-http's `auditServer`: every MUST, SHOULD and MAY of the
// specification) against a running server and prints the results as one JSON array on stdout:
// [{ "id", "name", "status": "ok" | "warn" | "notice" | "error", "reason"? }].
//
//   node audit.mjs http://127.0.0.1:4001/graphql
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql url>');
  process.exit(2);
}
const results = await auditServer({ url });
const printable = await Promise.all(
  results.map(async (result) => ({
    id: result.id,
    name: result.name,
    status: result.status,
    ...(result.status === 'ok' ? {} : { reason: result.reason, response: await describe(result.response) }),
  })),
);
console.log(JSON.stringify(printable));

async function describe(response) {
  if (!response) return undefined;
  const body = await response.text().catch(() => '');
  return { status: response.status, contentType: response.headers.get('content-type'), body: body.slice(0, 300) };
}

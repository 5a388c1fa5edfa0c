// Usage: node audit.mjs <url of the GraphQL endpoint>
// Runs graphql-http's server audits (the GraphQL over HTTP specification's conformance
// checks) and prints one JSON array: {id, name, status, reason?, response?} per audit,
// where status is "ok", or for a failure "error" (MUST), "warn" (SHOULD) or "notice" (MAY).
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <url>');
  process.exit(2);
}

const results = await auditServer({ url, fetchFn: fetch });
const report = [];
for (const result of results) {
  const item = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    item.reason = result.reason;
    let body = null;
    try {
      body = await result.response.text();
    } catch {
      // The audit has read the body itself already.
    }
    item.response = { status: result.response.status, body };
  }
  report.push(item);
}
console.log(JSON.stringify(report));

// Runs graphql-http's server audits against a running gateway and prints the figures.
// Usage: node audit.mjs URL TOKEN. Exits 1 when a MUST or a SHOULD audit fails.
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node audit.mjs URL TOKEN');
  process.exit(2);
}

// Every audit request carries the token, as a client of this gateway would.
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const results = await auditServer({ url, fetchFn });
const levels = ['MUST', 'SHOULD', 'MAY'];
const counts = Object.fromEntries(levels.map((l) => [l, { pass: 0, fail: 0 }]));
const failures = [];
for (const result of results) {
  const level = levels.find((l) => result.name.startsWith(l));
  if (!level) continue;
  if (result.status === 'ok') {
    counts[level].pass += 1;
  } else {
    counts[level].fail += 1;
    failures.push(result);
  }
}

console.log(`graphql-http audit of ${url}: ${results.length} audits`);
console.log('level   pass  fail');
for (const level of levels) {
  const { pass, fail } = counts[level];
  console.log(`${level.padEnd(6)}  ${String(pass).padStart(4)}  ${String(fail).padStart(4)}`);
}
for (const f of failures) {
  const body = f.response ? await f.response.text().catch(() => '') : '';
  console.log(`\n${f.status}: ${f.id} ${f.name}\n  ${f.reason}\n  ${body.slice(0, 300)}`);
}
process.exit(counts.MUST.fail + counts.SHOULD.fail > 0 ? 1 : 0);

#!/usr/bin/env bash
# Every check and test of OMTX-Hub, from a fresh clone: installs what is missing (Debian
# packages when run as root, npm packages), then types, lint, schema freshness, and the
# whole vitest suite (real SQLite files, real HTTP/WebSocket servers, real Vina runs,
# headless Chromium for GraphiQL, a redis-server the shared rate-limit tests start, Google's
# Firestore emulator and firebase-tools' storage emulator for the Google Cloud adapters). The
# README's test command; CI runs it too.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-system-packages.sh chromium autodock-vina openbabel redis-server
scripts/install-firestore-emulator.sh

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

npm run --silent check:types
npm run --silent lint
npm run --silent schema:check
npm run --silent build

# The Firestore outage test cuts an emulator off mid-batch: it runs alone, after the rest, so
# the two CPUs are not shared with eighty other files while its timings matter.
ALONE=test/gcp/firestore-outage.test.ts
results=$(mktemp)
alone=$(mktemp)
status=0
npx vitest run --exclude "$ALONE" --reporter=default --reporter=json --outputFile.json="$results" || status=$?
npx vitest run "$ALONE" --reporter=default --reporter=json --outputFile.json="$alone" || status=$?
# One plain closing line that any CI can read.
node -e '
  const runs = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
  const sum = (k) => runs.reduce((n, r) => n + r[k], 0);
  console.log(`${sum("numPassedTests")} passed, ${sum("numFailedTests")} failed` + (sum("numPendingTests") ? `, ${sum("numPendingTests")} skipped` : ""));
  if (runs.some((r) => r.numTotalTests === 0)) { console.error("no test ran"); process.exit(1); }
' "$results" "$alone"
rm -f "$results" "$alone"
exit "$status"

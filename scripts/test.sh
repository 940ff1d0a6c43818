#!/usr/bin/env bash
# Runs every test against both storage backends: SQLite always, PostgreSQL on a
# throwaway cluster started here (or the one DISPATCH_TEST_PG_URL names).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

started=""
if [[ -z "${DISPATCH_TEST_PG_URL:-}" ]]; then
    DISPATCH_TEST_PG_URL="$("$root/scripts/test-postgres.sh" start)"
    started=1
    trap '"$root/scripts/test-postgres.sh" stop' EXIT
fi
export DISPATCH_TEST_PG_URL
echo "tests: PostgreSQL at $DISPATCH_TEST_PG_URL"

dotnet build "$root/src/Dispatch.Cli/Dispatch.Cli.csproj" -c Release --nologo -v quiet
dotnet test "$root/Dispatch.sln" --nologo "$@"

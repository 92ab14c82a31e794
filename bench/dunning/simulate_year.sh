#!/usr/bin/env bash
# One-year `relanced simulate` over 100,000 invoices (issue 4: < 10 s), next to the core-only
# simulate of dunning_bench measured in the same run.
#
#   bench/dunning/simulate_year.sh [BUILD_DIR] [INVOICES] [CUSTOMERS]
#
# BUILD_DIR (default build/bench-release) is a Release build with relanced and, when
# RELANCE_BUILD_BENCH=ON, dunning_bench built. The events (gen_simulate_events.py), the config
# (shipped policies, templates and rates, dunning defaults) and the output go to a temporary
# folder, kept and printed. Prints wall time and max RSS (/usr/bin/time -v) and the load average.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build/bench-release}
invoices=${2:-100000}
customers=${3:-10000}
work=$(mktemp -d /tmp/relance-simulate-year-XXXXXX)

python3 "$root/bench/dunning/gen_simulate_events.py" "$invoices" "$customers" >"$work/events.jsonl"
cat >"$work/relance.yaml" <<YAML
dunning:
  policies_directory: $root/config/policies
  templates_directory: $root/config/templates
  rates_directory: $root/config/rates
  company_name: Exemple SAS
  company_email: compta@exemple.fr
YAML
echo "events: $(wc -l <"$work/events.jsonl") lines in $work/events.jsonl"
echo "load average before: $(uptime | sed 's/.*load average: //')"

cmd=("$build/daemon/relanced" simulate --config "$work/relance.yaml" --events
     "$work/events.jsonl" --from 2025-01-01 --to 2025-12-31)
echo "command: ${cmd[*]} >$work/actions.jsonl"
/usr/bin/time -v "${cmd[@]}" >"$work/actions.jsonl" 2>"$work/time.txt"
grep -E '^relanced simulate:' "$work/time.txt" || true
wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time.txt")
user=$(sed -n 's/.*User time (seconds): //p' "$work/time.txt")
sys=$(sed -n 's/.*System time (seconds): //p' "$work/time.txt")
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
echo "relanced simulate: wall $wall, user $user s, sys $sys s, max RSS $((rss / 1024)) MiB," \
     "$(wc -l <"$work/actions.jsonl") action lines"

if [ -x "$build/bench/dunning/dunning_bench" ]; then
  echo "core-only simulate (dunning_bench --skip-tick --invoices $invoices):"
  "$build/bench/dunning/dunning_bench" --skip-tick --invoices "$invoices"
fi
echo "load average after: $(uptime | sed 's/.*load average: //')"

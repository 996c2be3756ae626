#!/usr/bin/env bash
# One study on the ranks of an MPI job (Open MPI's mpirun, 4 ranks on this machine with
# --oversubscribe): the budget is met with no trial run twice and none lost; also when an evaluating
# rank is killed midway (its trial re-queued, the study finished by the ranks left) and when rank 0 is
# (the study resumed, with and without MPI, loses nothing finished).
# Usage: test_mpi.sh PATH/TO/hwnas SOURCE_DIR
set -u
HWNAS=$1
SRC=$2
T=$(mktemp -d /tmp/hwnas_mpi.XXXXXX)
trap 'pkill -9 -f "$T/" 2>/dev/null; rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

if ! command -v mpirun > /dev/null; then
  echo "FAIL: mpirun is missing (scripts/setup.sh installs openmpi-bin)" >&2
  exit 1
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# An ASan build: Open MPI's plugins keep allocations past MPI_Finalize and are unloaded by then, so
# their leaks cannot be told apart by a suppression (the frames are "unknown module"): leak checks off
# here (every other test keeps them; ASan's other checks stay on)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export HWNAS_MPI_TIMEOUT=3

# the example study: its evaluation is an external command that sleeps (the expensive tier, run by
# ranks 1..3), 36 trials
STUDY="$SRC/examples/studies/mpi-sleep.yaml"

# every trial done or pruned once: 36 trials, 36 distinct asks, one tell each, none running
check_store() { # DIR WHAT
  local got
  got=$(/usr/bin/python3 - "$1/study.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
q = lambda s: db.execute(s).fetchone()[0]
print(q("SELECT count(*) FROM trials"), q("SELECT count(*) FROM trials WHERE state IN ('done', 'pruned')"),
      q("SELECT count(DISTINCT trial) FROM events WHERE kind = 'ask'"), q("SELECT count(*) FROM events WHERE kind = 'tell'"),
      q("SELECT count(DISTINCT trial) FROM events WHERE kind = 'tell'"))
PY
)
  if [ "$got" = "36 36 36 36 36" ]; then ok; else bad "$2: trials, finished, asked, tells, told = $got (want 36 each)"; fi
}

# the rank (0..3) of a running hwnas of this study, by its Open MPI environment
pid_of_rank() { # RANK DIR
  local p
  for p in $(pgrep -f "hwnas search.*$2"); do
    if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1"; then echo "$p"; return; fi
  done
}

# 1. four ranks, nothing killed
out=$(timeout 120 mpirun -np 4 "$HWNAS" search "$STUDY" --out "$T/all" 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q "4 MPI ranks: rank 0 owns the store, 3 evaluate" <<<"$out" && grep -q "chosen: trial" <<<"$out"; then ok
else bad "mpirun -np 4 -> exit $rc:"; tail -5 <<<"$out" >&2; fi
check_store "$T/all" "four ranks"
out=$("$HWNAS" study show "$T/all" 2>&1)
if grep -q "36 done, 0 pruned, 0 failed, 0 running, 0 queued\|done, .* 0 running, 0 queued" <<<"$out"; then ok; else bad "study show:"; head -12 <<<"$out" >&2; fi
out=$("$HWNAS" search --resume "$T/all" 2>&1)
if grep -q "Pareto front: " <<<"$out"; then ok; else bad "a finished MPI study resumed without MPI:"; tail -3 <<<"$out" >&2; fi

# mpirun with --enable-recovery in the background, and rank RANK killed 0.8 s after the store exists
# the log in DIR.log ends with "rc=N"
run_and_kill() { # RANK DIR
  (timeout 120 mpirun --enable-recovery -np 4 "$HWNAS" search "$STUDY" --out "$2" > "$2.log" 2>&1; echo "rc=$?" >> "$2.log") &
  local job=$! victim=""
  # (mpirun --enable-recovery can take seconds to start: 5 s in a fresh Debian root)
  for _ in $(seq 600); do sleep 0.1; [ -s "$2/study.db" ] && victim=$(pid_of_rank "$1" "$2") && [ -n "$victim" ] && break; done
  sleep 0.8
  [ -n "$victim" ] && kill -9 "$victim"
  wait $job
  [ -n "$victim" ]
}

# 2. an evaluating rank killed midway: its trial back in the queue, the study finished by the others
if run_and_kill 2 "$T/rank2" && grep -q "rc=0" "$T/rank2.log" && grep -q "rank 2 is lost" "$T/rank2.log"; then ok
else bad "rank 2 killed:"; tail -5 "$T/rank2.log" >&2; fi
check_store "$T/rank2" "rank 2 killed"

# 3. rank 0 killed: the other ranks leave, and the study resumed under MPI loses nothing
if run_and_kill 0 "$T/owner" && grep -q "rank 0 (the study's owner) has been silent" "$T/owner.log"; then ok
else bad "rank 0 killed:"; tail -5 "$T/owner.log" >&2; fi
before=$(/usr/bin/python3 -c "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM trials WHERE state = 'done'\").fetchone()[0])" "$T/owner/study.db")
out=$(timeout 120 mpirun -np 3 "$HWNAS" search --resume "$T/owner" 2>&1); rc=$?
if [ $rc -eq 0 ] && [ "$before" -gt 0 ] && [ "$before" -lt 36 ] && grep -q "chosen: trial" <<<"$out"; then ok
else bad "resumed after rank 0 was killed ($before trials done before) -> exit $rc:"; tail -5 <<<"$out" >&2; fi
check_store "$T/owner" "rank 0 killed, resumed"

echo "mpi: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

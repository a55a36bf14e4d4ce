# ---- backup-lib begin: in acgs-backup-database and acgs-restore-drill (ssm-documents/src/backup-lib.sh) ----
# Uses the document's DEADLINE_US, TIMEOUT_SECONDS, WORK_DIR and PG_BIN_DIR, and its fail, content_error and
# fail_content.

# Seconds left of TimeoutSeconds (at least 1): every long step runs under `timeout` with what is left of the budget.
seconds_left() {
  local left=$(((DEADLINE_US - $(now_us)) / 1000000))
  printf '%s' "$((left < 1 ? 1 : left))"
}

# The text of file $1 on one line, shortened: a tool's error message for a reason.
one_line() {
  local text
  text="$(tr -s '\t\r\n ' '    ' <"$1")"
  text="${text# }"
  text="${text% }"
  printf '%s' "${text:0:400}"
}

# run_step WHAT COMMAND...: runs COMMAND within what is left of TimeoutSeconds; its stderr is shown on stdout and,
# when it does not exit 0, ends the document with a reason naming WHAT and the real cause: the deadline, a signal
# (the OOM killer, an operator), or the tool's exit status and message. A failure that content_error blames on the
# dump's content ends it through fail_content (exit 3), any other through fail.
run_step() {
  local what="$1" rc=0
  shift
  timeout --foreground --kill-after=10 "$(seconds_left)" "$@" 2>"$WORK_DIR/stderr" || rc=$?
  if [[ -s "$WORK_DIR/stderr" ]]; then cat -- "$WORK_DIR/stderr"; fi
  # 124: timeout sent TERM at the deadline; 137 is timeout's KILL only once the deadline has passed.
  if ((rc == 124 || (rc == 137 && DEADLINE_US <= $(now_us)))); then
    fail "$what did not finish within TimeoutSeconds (${TIMEOUT_SECONDS}s)"
  fi
  if ((rc > 128 && rc < 160)); then
    fail "$what was killed by SIG$(kill -l "$((rc - 128))" 2>/dev/null || printf '%s' "$((rc - 128))") (exit $rc): $(one_line "$WORK_DIR/stderr")"
  fi
  if ((rc != 0)) && content_error; then fail_content "$what failed (exit $rc): $(one_line "$WORK_DIR/stderr")"; fi
  if ((rc != 0)); then fail "$what failed (exit $rc): $(one_line "$WORK_DIR/stderr")"; fi
}

# A PostgreSQL client tool from PgBinDir, else from PATH; empty when there is none.
pg_tool() {
  if [[ -n "$PG_BIN_DIR" ]]; then
    printf '%s' "$PG_BIN_DIR/$1"
  else
    command -v -- "$1" || true
  fi
}
# ---- backup-lib end ----

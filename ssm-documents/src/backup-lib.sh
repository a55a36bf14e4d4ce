# ---- backup-lib begin: in acgs-backup-database, acgs-restore-drill, acgs-restore-database and acgs-wal-archiving (ssm-documents/src/backup-lib.sh) ----
# Uses the document's DEADLINE_US, TIMEOUT_SECONDS, WORK_DIR, PG_BIN_DIR, PGPASS_FILE, PASSWORD_SECRET_ID,
# PASSWORD_SECRET_FIELD and AWS, and its fail, content_error and fail_content.

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
  judge_step "$what" "$rc"
}

# judge_step WHAT RC: run_step's verdict on a command that exited RC with its stderr in $WORK_DIR/stderr (also for a
# command run inside a pipeline, whose status run_step cannot see).
judge_step() {
  local what="$1" rc="$2"
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

# The database password when PasswordSecretId names a Secrets Manager secret; empty: libpq reads the pgpass file.
# Kept in this shell variable only: never exported, printed, traced or written to a file; with_password hands it to
# one PostgreSQL tool at a time, in that tool's environment.
DB_PASSWORD=''

# Where the password comes from: the secret (read here with the AWS CLI), else the pgpass file. The password is never
# a parameter and never comes from the environment this document runs in.
use_password_source() {
  if [[ -z "$PASSWORD_SECRET_ID" ]]; then
    [[ -n "$PGPASS_FILE" ]] || fail 'neither PasswordSecretId nor PgpassFile is set: no way to get the database password'
    [[ -f "$PGPASS_FILE" && -r "$PGPASS_FILE" ]] ||
      fail "cannot read the pgpass file $PGPASS_FILE (the password is read from it, PasswordSecretId is empty)"
    return 0
  fi
  if [[ -z "$AWS" ]]; then AWS="$(command -v aws || true)"; fi
  [[ -n "$AWS" ]] || fail "the AWS CLI (aws) is not installed: cannot read the password from secret $PASSWORD_SECRET_ID"
  local raw rc=0
  raw="$(timeout 60 "$AWS" secretsmanager get-secret-value --secret-id "$PASSWORD_SECRET_ID" \
    --query SecretString --output text 2>"$WORK_DIR/stderr")" || rc=$?
  ((rc == 0)) || fail "cannot read the password from secret $PASSWORD_SECRET_ID (exit $rc): $(one_line "$WORK_DIR/stderr")"
  if [[ "$raw" != '{'* && -z "$PASSWORD_SECRET_FIELD" ]]; then
    DB_PASSWORD="$raw"
  else
    # A JSON secret (RDS and rotation write {"username": ..., "password": ...}): the field, by python3's JSON parser.
    command -v python3 >/dev/null ||
      fail "python3 is needed to read field ${PASSWORD_SECRET_FIELD:-password} of the JSON secret $PASSWORD_SECRET_ID"
    DB_PASSWORD="$(printf '%s' "$raw" | python3 -c '
import json, sys
field = sys.argv[1]
text = sys.stdin.read()
try:
    value = json.loads(text)
except ValueError:
    value = None
if not isinstance(value, dict):
    if field == "":
        sys.stdout.write(text)
        sys.exit(0)
    sys.exit(4)
found = value.get(field or "password")
if not isinstance(found, str) or found == "":
    sys.exit(5)
sys.stdout.write(found)
' "$PASSWORD_SECRET_FIELD")" || rc=$?
    case "$rc" in
      0) ;;
      4) fail "secret $PASSWORD_SECRET_ID is not a JSON object, but PasswordSecretField names field $PASSWORD_SECRET_FIELD" ;;
      5) fail "secret $PASSWORD_SECRET_ID is JSON without a non-empty string field ${PASSWORD_SECRET_FIELD:-password}" ;;
      *) fail "cannot read field ${PASSWORD_SECRET_FIELD:-password} of secret $PASSWORD_SECRET_ID (python3 exit $rc)" ;;
    esac
  fi
  raw=''
  [[ -n "$DB_PASSWORD" ]] || fail "secret $PASSWORD_SECRET_ID holds an empty password"
  say "the database password comes from secret $PASSWORD_SECRET_ID"
}

# with_password COMMAND...: runs COMMAND (run_step, or a tool) with PGPASSWORD in its environment alone when the
# password came from the secret; as it is otherwise (libpq reads PGPASSFILE).
with_password() {
  if [[ -n "$DB_PASSWORD" ]]; then PGPASSWORD="$DB_PASSWORD" "$@"; else "$@"; fi
}
# open_archive DUMP: what pg_restore reads of the published dump DUMP (its SHA-256 already checked), in ARCHIVE: DUMP
# itself for pg_dump's custom format (it starts with PGDMP); for a tar of a directory-format dump (the backup's
# ParallelJobs > 1), the directory unpacked into $WORK_DIR (the disk needs room for it). Sets ARCHIVE_FORMAT to the
# manifest's name of the format. Uses the document's CONTENT_STEP: a tar that cannot be read is the dump's fault.
open_archive() {
  local magic
  magic="$(head -c 5 -- "$1" | tr -cd 'A-Z')"
  if [[ "$magic" == PGDMP ]]; then
    ARCHIVE="$1"
    ARCHIVE_FORMAT='custom'
    return 0
  fi
  ARCHIVE="$WORK_DIR/archive.d"
  ARCHIVE_FORMAT='directory-tar'
  rm -rf -- "$ARCHIVE"
  mkdir -m 700 -- "$ARCHIVE"
  CONTENT_STEP=tar
  run_step 'unpacking the dump (tar)' tar -x --no-same-owner --no-same-permissions -f "$1" -C "$ARCHIVE"
  CONTENT_STEP=''
  [[ -f "$ARCHIVE/toc.dat" ]] ||
    fail_content 'the dump is neither a custom-format archive nor a tar of a directory-format one (no toc.dat in it)'
}

# tar's own errors reading an archive (as opposed to writing the files out: a full disk is the environment's).
TAR_CONTENT_ERRORS='^tar: (This does not look like a tar archive|Unexpected EOF in archive|Skipping to next header|Damaged tar archive|Archive contains)'

# How pg_restore restores (RESTORE_JOBS, the RestoreJobs parameter): 1, in a single transaction that stops at the first
# error; N > 1, N tables at a time (pg_restore --jobs), each in its own transactions: PostgreSQL cannot share one
# transaction among several connections.
restore_mode_options() {
  if ((RESTORE_JOBS > 1)); then
    RESTORE_MODE=(--jobs="$RESTORE_JOBS")
  else
    RESTORE_MODE=(--single-transaction)
  fi
}
# ---- backup-lib end ----

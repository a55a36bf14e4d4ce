# ---- acgs-lib begin: identical in every acgs-* document that carries it (test/unit/ssm-document.test.ts) ----
# Every failure ends with a one-line reason on stderr: functions print theirs through `reason`, and the ERR trap
# names the command for anything unexpected.
REASON_GIVEN=''
reason() {
  REASON_GIVEN=1
  printf '%s: %s\n' "$DOC" "$*" >&2
}
trap 'rc=$?; [[ -n "$REASON_GIVEN" ]] || printf "%s: unexpected failure (exit %s) at line %s: %s\n" "$DOC" "$rc" "$LINENO" "$BASH_COMMAND" >&2' ERR
say() { printf '%s\n' "$*"; }

# Microseconds since the epoch (EPOCHREALTIME's decimal separator follows the locale: keep the digits).
now_us() { printf '%s' "${EPOCHREALTIME//[!0-9]/}"; }

# A process is alive unless it is gone or a zombie (a zombie holds no port; it only awaits reaping).
# Files are read with `read`, not $(<file): under set -e a missing file there ends the script even inside `||`.
is_alive() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat="${stat##*) }"
  [[ -n "$stat" && "${stat%% *}" != Z ]]
}

pgid_of() {
  local stat state ppid pgrp
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  read -r state ppid pgrp _ <<<"${stat##*) }"
  printf '%s' "$pgrp"
}

describe_pids() {
  local pid comm out=''
  for pid in "$@"; do
    { read -r comm <"/proc/$pid/comm"; } 2>/dev/null || comm='?'
    out+="${out:+, }pid $pid ($comm)"
  done
  printf '%s' "$out"
}

# Socket inodes listening on TCP port $1, read from /proc/net/tcp{,6}: works without any tool installed.
proc_listen_inodes() {
  local hex file sl local_address rem_address st inode
  printf -v hex '%04X' "$1"
  for file in /proc/net/tcp /proc/net/tcp6; do
    [[ -r "$file" ]] || continue
    {
      read -r _ || true
      while read -r sl local_address rem_address st _ _ _ _ _ inode _; do
        if [[ "$st" == 0A && "${local_address##*:}" == "$hex" && "$inode" != 0 ]]; then printf '%s\n' "$inode"; fi
      done
    } <"$file"
  done
}

# Succeeds when something listens on TCP port $1 (any address, IPv4 or IPv6).
port_held() {
  local out
  if command -v ss >/dev/null 2>&1 && out="$(ss -ltnH "sport = :$1" 2>/dev/null)"; then
    [[ -n "$out" ]]
    return
  fi
  [[ -n "$(proc_listen_inodes "$1")" ]]
}

# PIDs listening on TCP port $1, one per line: ss, else lsof, else fuser, else /proc. A process this user may not
# inspect is missing from the list, so callers pair an empty list with port_held.
listening_pids() {
  local port="$1" out inode
  if command -v ss >/dev/null 2>&1 && out="$(ss -ltnpH "sport = :$port" 2>/dev/null)"; then
    { grep -o 'pid=[0-9]*' <<<"$out" || true; } | cut -d= -f2 | sort -un
  elif command -v lsof >/dev/null 2>&1; then
    { lsof -nP -t -iTCP:"$port" -sTCP:LISTEN 2>/dev/null || true; } | sort -un
  elif command -v fuser >/dev/null 2>&1; then
    { fuser -n tcp "$port" 2>/dev/null || true; } | tr -s ' ' '\n' | { grep -E '^[0-9]+$' || true; } | sort -un
  else
    while read -r inode; do
      { find /proc/[0-9]*/fd -maxdepth 1 -lname "socket:\\[$inode\\]" 2>/dev/null || true; } | cut -d/ -f3
    done < <(proc_listen_inodes "$port") | sort -un
  fi
}

# Sends signal $1 to each PID, and to its whole process group when it leads one (a service started with setsid,
# so its workers go with it); never to a group it merely belongs to, never to init or to this script.
signal_pids() {
  local sig="$1" pid
  shift
  for pid in "$@"; do
    if ((pid <= 1 || pid == $$)); then continue; fi
    if [[ "$(pgid_of "$pid" || true)" == "$pid" ]]; then
      kill -s "$sig" -- "-$pid" 2>/dev/null || true
    else
      kill -s "$sig" "$pid" 2>/dev/null || true
    fi
  done
}

# Succeeds once every PID after $1 has exited and nothing listens on port $1.
released() {
  local port="$1" pid
  shift
  for pid in "$@"; do
    if is_alive "$pid"; then return 1; fi
  done
  ! port_held "$port"
}

# wait_released PORT DEADLINE_US PID...: polls `released` until the deadline.
wait_released() {
  local port="$1" deadline="$2"
  shift 2
  until released "$port" "$@"; do
    if (($(now_us) >= deadline)); then return 1; fi
    sleep 0.1
  done
}

# stop_port NAME PORT GRACE: stops whatever listens on PORT with SIGTERM, then SIGKILL after GRACE seconds.
# Succeeds when the port is free, including when nothing was running.
stop_port() {
  local name="$1" port="$2" grace="$3"
  local -a pids more
  mapfile -t pids < <(listening_pids "$port")
  if ((${#pids[@]} == 0)); then
    if port_held "$port"; then
      reason "cannot stop $name: port $port is held by a process this user cannot see (run as root)"
      return 1
    fi
    say "$name: not running (nothing listens on port $port); nothing to stop"
    return 0
  fi
  say "$name: stopping $(describe_pids "${pids[@]}") listening on port $port (SIGTERM, ${grace}s grace)"
  signal_pids TERM "${pids[@]}"
  if wait_released "$port" "$(($(now_us) + grace * 1000000))" "${pids[@]}"; then
    say "$name: stopped; port $port is free"
    return 0
  fi
  mapfile -t more < <(listening_pids "$port")
  say "$name: still running after ${grace}s; sending SIGKILL"
  signal_pids KILL "${pids[@]}" "${more[@]}"
  if wait_released "$port" "$(($(now_us) + 5000000))" "${pids[@]}" "${more[@]}"; then
    say "$name: killed; port $port is free"
    return 0
  fi
  reason "cannot stop $name: port $port is still held after SIGKILL ($(describe_pids "${pids[@]}" "${more[@]}"))"
  return 1
}

# probe_health URL: one request. Healthy is HTTP 2xx with a body that does not call itself unhealthy (some services
# answer 200 with "unhealthy" in the body: HTTP 200 alone is not health). HEALTH_DETAIL says what was seen.
HEALTH_DETAIL='not probed yet'
probe_health() {
  local url="$1" out code body rc=0 rest hostport path host hport
  local unhealthy='"status"[[:space:]]*:[[:space:]]*"unhealthy"'
  if command -v curl >/dev/null 2>&1; then
    out="$(curl -s --max-time 3 -w '\n%{http_code}' "$url")" || rc=$?
    code="${out##*$'\n'}"
    body="${out%$'\n'*}"
  elif [[ "$url" == http://* && "$url" != http://\[* ]]; then
    # No curl: plain HTTP/1.0 over bash's /dev/tcp. The values travel as arguments, never as code.
    rest="${url#http://}"
    hostport="${rest%%/*}"
    path="${rest#"$hostport"}"
    host="${hostport%%:*}"
    hport=80
    if [[ "$hostport" == *:* ]]; then hport="${hostport##*:}"; fi
    out="$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n" "$2" "$0" >&3 && cat <&3' "$host" "$hport" "${path:-/}" 2>/dev/null)" || rc=$?
    code=''
    read -r _ code _ <<<"${out%%$'\n'*}" || true
    body="${out#*$'\r\n\r\n'}"
  else
    HEALTH_DETAIL="cannot probe $url: curl is not installed"
    return 1
  fi
  if [[ ! "$code" =~ ^2[0-9][0-9]$ ]]; then
    if [[ "$code" =~ ^[1-5][0-9][0-9]$ ]]; then HEALTH_DETAIL="HTTP $code"; else HEALTH_DETAIL="no HTTP answer (exit $rc)"; fi
    return 1
  fi
  if [[ "$body" =~ $unhealthy ]]; then
    HEALTH_DETAIL="HTTP $code but the body reports unhealthy"
    return 1
  fi
  HEALTH_DETAIL="HTTP $code"
  if [[ "$body" == *'"degraded"'* ]]; then HEALTH_DETAIL+=' (degraded)'; fi
  return 0
}

show_log_tail() {
  if [[ -r "$1" ]]; then
    say "---- last 20 lines of $1 ----"
    tail -n 20 -- "$1" || true
    say "----"
  else
    say "(no log at $1)"
  fi
}

# wait_healthy NAME URL TIMEOUT PID LOG: polls URL until it answers healthy; fails at once when PID (if given)
# exits first, and after TIMEOUT seconds otherwise, with the log's last lines.
wait_healthy() {
  local name="$1" url="$2" timeout="$3" pid="$4" logfile="$5" deadline
  deadline=$(($(now_us) + timeout * 1000000))
  while :; do
    if probe_health "$url"; then
      say "$name: healthy ($HEALTH_DETAIL from $url)"
      return 0
    fi
    if [[ -n "$pid" ]] && ! is_alive "$pid"; then
      show_log_tail "$logfile"
      reason "$name failed to start: pid $pid exited before $url answered healthy (last: $HEALTH_DETAIL)"
      return 1
    fi
    if (($(now_us) >= deadline)); then
      show_log_tail "$logfile"
      reason "$name is not healthy: $url gave no healthy answer within ${timeout}s (last: $HEALTH_DETAIL${pid:+; pid $pid left running})"
      return 1
    fi
    sleep 0.2
  done
}

isolation_marker() { printf '%s/isolated/%s' "$1" "$2"; }

# guard_isolation STATE_DIR NAME FORCE: an isolated service is not started unless FORCE is true (return 2).
guard_isolation() {
  local marker
  marker="$(isolation_marker "$1" "$2")"
  if [[ ! -e "$marker" ]]; then return 0; fi
  if [[ "$3" != true ]]; then
    reason "refusing to start $2: it is isolated ($marker); release it with acgs-release-service or start it with Force=true"
    return 2
  fi
  say "$2: isolated, starting anyway (Force=true); the isolation is released once it is healthy"
}

# release_isolation STATE_DIR NAME: removes the isolation marker; releasing a service that is not isolated is a no-op.
release_isolation() {
  local marker
  marker="$(isolation_marker "$1" "$2")"
  if [[ -e "$marker" ]]; then
    rm -f -- "$marker"
    say "$2: isolation released"
  else
    say "$2: not isolated; nothing to release"
  fi
}

# start_service NAME PORT DIR COMMAND LOG URL TIMEOUT: runs COMMAND (split into words, never evaluated) from DIR in
# its own session, output appended to LOG, and waits for URL to answer healthy. A process already listening on PORT
# from DIR is this service: then only its health is checked. Anything else on PORT is refused (return 2).
start_service() {
  local name="$1" port="$2" dir="$3" command="$4" logfile="$5" url="$6" timeout="$7"
  local -a argv pids
  local real pid cwd
  read -ra argv <<<"$command"
  if ! real="$(cd -- "$dir" 2>/dev/null && pwd -P)"; then
    reason "cannot start $name: directory $dir does not exist"
    return 1
  fi
  mapfile -t pids < <(listening_pids "$port")
  if ((${#pids[@]} > 0)); then
    for pid in "${pids[@]}"; do
      cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null || true)"
      if [[ "$cwd" != "$real" ]]; then
        reason "refusing to start $name: port $port is held by $(describe_pids "$pid"), which does not run from $dir"
        return 2
      fi
    done
    say "$name: already running ($(describe_pids "${pids[@]}") on port $port)"
    wait_healthy "$name" "$url" "$timeout" '' "$logfile"
    return
  fi
  if port_held "$port"; then
    reason "refusing to start $name: port $port is held by a process this user cannot see"
    return 2
  fi
  if ! (cd -- "$real" && command -v -- "${argv[0]}" >/dev/null); then
    reason "cannot start $name: command ${argv[0]} not found (from $dir)"
    return 1
  fi
  mkdir -p -- "$(dirname -- "$logfile")"
  printf -- '---- %s acgs-ops: starting %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$name" "$command" >>"$logfile"
  (cd -- "$real" && exec setsid nohup "${argv[@]}" >>"$logfile" 2>&1 </dev/null) &
  pid=$!
  say "$name: started pid $pid from $dir (log $logfile)"
  wait_healthy "$name" "$url" "$timeout" "$pid" "$logfile"
}
# ---- acgs-lib end ----

#!/usr/bin/env bash
# stop_slurm.sh - stop only the daemons that .ci/start_slurm.sh started, found through
# their pid files under $SLURM_CI_DIR (default /tmp/slurm-ci). A pid is signalled only
# while it still belongs to the program that wrote the pid file. Idempotent.
set -uo pipefail
RUN_DIR=${SLURM_CI_DIR:-/tmp/slurm-ci}
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# stop_pidfile PROGRAM PIDFILE
stop_pidfile() {
    local prog=$1 file=$2 pid
    [ -s "$file" ] || { echo "$prog: not started by start_slurm.sh (no pid file)"; return 0; }
    pid=$(cat "$file")
    if [ "$(ps -p "$pid" -o comm= 2>/dev/null)" = "$prog" ]; then
        $SUDO kill -TERM "$pid"
        for _ in $(seq 50); do $SUDO kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if $SUDO kill -0 "$pid" 2>/dev/null; then $SUDO kill -KILL "$pid"; fi
        echo "$prog (pid $pid) stopped"
    else
        echo "$prog: pid $pid is not running"
    fi
    $SUDO rm -f "$file"
}

# Cancel jobs still queued or running so slurmd leaves no job steps behind.
ctld_pid=$(cat "$RUN_DIR/pid/slurmctld.pid" 2>/dev/null || true)
if [ -n "$ctld_pid" ] && [ "$(ps -p "$ctld_pid" -o comm= 2>/dev/null)" = slurmctld ]; then
    $SUDO timeout 10 scancel --quiet --state=PENDING 2>/dev/null || true
    $SUDO timeout 10 scancel --quiet --state=RUNNING 2>/dev/null || true
fi
stop_pidfile slurmd "$RUN_DIR/pid/slurmd.pid"
stop_pidfile slurmctld "$RUN_DIR/pid/slurmctld.pid"
stop_pidfile munged "$RUN_DIR/munge/munged.pid"

#!/usr/bin/env bash
# A short kill/resume soak (tests/reliability/kill_soak.sh): 2 trials, SIGKILL at 2 random
# moments each. scripts/reliability.sh runs 20. Args: BIN_DIR SOURCE_DIR WORK_DIR
exec bash "$2/tests/reliability/kill_soak.sh" "$1" "$2" "$3" 2 2

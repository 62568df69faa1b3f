#!/usr/bin/env bash
# The bad-input corpus (tests/reliability/bad_inputs.sh): every case exits 2 with a message
# naming the file, key or case and leaves no partial output. Args: BIN_DIR SOURCE_DIR WORK_DIR
exec bash "$2/tests/reliability/bad_inputs.sh" "$@"

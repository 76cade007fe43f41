#!/bin/sh
# Writes spock--5.0.11--5.1.0.sql: the hand-written head (sql/update/), then the 5.1.0 install
# script without its \echo line and without the CREATE TABLE statements of the tables that
# Spock 5.0.x already has (those spock--5.0.0.sql creates). One copy of every definition: the
# 5.1.0 script. Usage: generate.sh SQL_DIR OUTPUT
set -eu
sql=$1
out=$2
existing=$(sed -n 's/^CREATE TABLE \([a-z_]*\) (.*/\1/p' "$sql/spock--5.0.0.sql" | tr '\n' ' ')
{
    cat "$sql/update/spock--5.0.11--5.1.0.head.sql"
    awk -v existing="$existing" '
        BEGIN { n = split(existing, t, " "); for (i = 1; i <= n; i++) skip[t[i]] = 1 }
        /^\\echo / { next }
        /^CREATE TABLE [a-z_]+ \(/ { name = $3; if (name in skip) skipping = 1 }
        skipping { if ($0 ~ /;[ \t]*$/) skipping = 0; next }
        { print }
    ' "$sql/spock--5.1.0.sql"
} >"$out.tmp"
mv "$out.tmp" "$out"

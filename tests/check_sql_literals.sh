#!/bin/sh
# tests/check_sql_literals.sh SRCDIR: SQL only through prepared statements.
#
# Fails if a C file under core/ l2/ flavors/ api/ db/ passes anything but a
# string literal as the SQL text of sqlite3_exec(), mysql_query(),
# mysql_real_query() or db_exec() (and the db layer's own one-statement
# helpers).  Values go through db_prepare() + db_bind_*(); text that is not
# a literal would be an injection point.  The few places where the text is
# a variable by design are listed in ALLOW, each with its reason; a new
# one needs a review and an entry here.
set -u
src=${1:-.}
cd "$src" || exit 2

# "path|trimmed line": reason.
ALLOW='db/sqlite.c|int rc = sqlite3_exec(sdb->conn, sql, NULL, NULL, &errmsg);
db/sqlite.c|return sqlite_exec_(sqlite_db_cast(db), sql);
db/sqlite.c|if (sqlite_exec_(sdb, pragmas[i]) != DB_OK) {
db/mariadb.c|if (mysql_real_query(conn, sql, strlen(sql))) {
db/mariadb.c|if (mysql_real_query(mdb->conn, sql, strlen(sql))) {
db/mariadb.c|return rc == DB_OK ? mdb_exec_(mdb, sql) : rc;
db/mariadb.c|return mdb_exec(db, (write
db/mariadb.c|if (query_simple(conn, session_setup[i])) {
db/migrations.c|rc = db_exec(db, sql);'
# Why: the engines' db_exec() implementations pass their caller's text on;
# pragmas[] and session_setup[] are static arrays of literals; mdb_begin's
# argument is a choice between two literals; migrations.c runs the static
# migration texts of its own table (expanded for the engine).

calls='\b(sqlite3_exec|mysql_query|mysql_real_query|db_exec|query_simple|sqlite_exec_|mdb_exec_|mdb_exec)\s*\('
out=$(for f in $(find core l2 flavors api db -name '*.c' | sort); do
    grep -nP "$calls" "$f" | while IFS= read -r hit; do
        line=${hit#*:}
        text=$(printf '%s' "$line" | sed 's/^[[:space:]]*//')
        case $text in
            '*'*|'/*'*|'//'*) continue ;;       # a comment
        esac
        # A definition or prototype starts in column 0; calls are indented.
        case $line in
            [!\ \	]*) continue ;;
        esac
        # The SQL argument (the second) is a literal.
        if printf '%s' "$text" | grep -qP "$calls[^,]*,\s*\""; then
            continue
        fi
        if printf '%s\n' "$ALLOW" | grep -qxF "$f|$text"; then
            continue
        fi
        echo "$f:${hit%%:*}: SQL text not a literal: $text"
    done
done)
if [ -n "$out" ]; then
    printf '%s\n' "$out"
    exit 1
fi
echo "check_sql_literals: every exec/query call takes a literal or is reviewed"
exit 0
